/**
 * The unprivileged user the relay runs as under a root `pqpsk server`: finding it, giving
 * it the state directory, and checking that the relay really holds no privilege.
 */
import { lstat, chmod, lchown, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PqpskError } from '../errors.js';

/** The user `pqpsk server` runs its relay as unless `--user` says otherwise. */
export const DEFAULT_RELAY_USER = 'pqpsk';

/** A user as /etc/passwd lists it. */
export interface RelayUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * `name` in passwd text (pure). SETUP naming the command that creates it when absent,
 * and refusing root (uid 0): the relay must not keep root's privileges.
 */
export function findUser(passwd: string, name: string): RelayUser {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] !== name) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d{1,10}$/.test(f[2]!) || !/^\d{1,10}$/.test(f[3]!)) break;
    if (uid === 0 || gid === 0) throw new PqpskError('SETUP', `--user ${name}: has uid or gid 0; the relay must run as an unprivileged user`);
    return { name, uid, gid };
  }
  throw new PqpskError(
    'SETUP',
    `--user ${name}: no such user; create it with \`useradd --system --no-create-home --shell /usr/sbin/nologin ${name}\` or name another with --user`,
  );
}

/** `findUser` on this host's /etc/passwd. */
export async function lookupUser(name: string): Promise<RelayUser> {
  return findUser(await readFile('/etc/passwd', 'utf8'), name);
}

/**
 * Makes `dir` (mode 0700) belong to `user`, with the book files of `iface` in it: run by
 * the root broker at start, so the relay can write its book, including a book an older
 * root relay left. Only a directory and files owned by root or by the user are changed,
 * and symlinks never (SETUP otherwise).
 */
export async function giveStateDir(dir: string, iface: string, user: RelayUser): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new PqpskError('SETUP', `state directory ${dir}: not a directory`);
    if (st.uid !== 0 && st.uid !== user.uid) throw new PqpskError('SETUP', `state directory ${dir}: owned by uid ${st.uid}, neither root nor ${user.name}`);
    // chmod before chown: once the user owns it, changing its mode would need CAP_FOWNER.
    await chmod(dir, 0o700);
    await lchown(dir, user.uid, user.gid);
    for (const suffix of ['', '.prev', '.tmp']) {
      const path = join(dir, `${iface}.book.json${suffix}`);
      const file = await lstat(path).catch(() => null);
      if (file === null || !file.isFile() || (file.uid !== 0 && file.uid !== user.uid)) continue;
      await lchown(path, user.uid, user.gid);
    }
  } catch (err) {
    if (err instanceof PqpskError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint = code === 'EPERM' ? '; it needs CAP_CHOWN (under systemd, in CapabilityBoundingSet=)' : '';
    throw new PqpskError('SETUP', `state directory ${dir}: cannot give it to ${user.name} (${code})${hint}`);
  }
}

/**
 * SETUP unless this process runs as a user other than root with no effective
 * capability, read from /proc/self/status: the relay checks it before it listens.
 */
export async function checkUnprivileged(): Promise<void> {
  const status = await readFile('/proc/self/status', 'utf8');
  const uid = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1];
  if (uid === null || uid.slice(1).includes('0') || capEff === undefined || !/^0+$/.test(capEff)) {
    throw new PqpskError('SETUP', 'the relay process still holds privileges (root uid or capabilities); refusing to serve');
  }
}
