/**
 * What a one-shot `pqpsk negotiate` leaves behind for `pqpsk status`: the public facts of
 * the switch it made (the ephemeral and parent public keys, the relay peer, the config
 * service, the PSK fingerprint, when). Without it, and with no watcher running, status
 * could only see "a PSK is set" — and a static, classical PSK on the parent key looks the
 * same. With it, status calls the tunnel post-quantum only while the interface is still
 * on the very key that run switched to.
 *
 * The note lives beside the lock (same private directory, same per-namespace name, a
 * `.key` ending), written whole to a temporary name and renamed into place, and is read
 * back with the same distrust as a holder's reply: a regular file of ours, small, every
 * field checked. It holds no secret.
 */
import { lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { untrustedBecause } from '../fs-checks.js';
import { checkHop, isTime, WG_KEY } from './holder-reply.js';
import { lockDirectory, lockDirectoryIsOurs, lockPath, openLockDirectory } from './lock.js';
import type { WatchStatus } from './watch.js';

/** One interface's switch, as a one-shot run made it. */
export interface KeyNote {
  readonly hop: WatchStatus['hops'][number];
  /** The relay peer's public key. */
  readonly peer: string;
  readonly negotiatedAt: number;
}

/** Far above a note's size (about 400 bytes); a longer file is not a note. */
const MAX_NOTE_BYTES = 4096;

/** Records `note` for its interface (replacing an older one). */
export async function writeKeyNote(note: KeyNote, dir = lockDirectory()): Promise<void> {
  await openLockDirectory(dir);
  const path = lockPath(note.hop.interface, dir, 'key');
  const temporary = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(note)}\n`);
  } finally {
    await file.close();
  }
  await rename(temporary, path).catch(async (err: unknown) => {
    await unlink(temporary).catch(() => undefined);
    throw err;
  });
}

/** The note for `iface`, or null when there is none, or none worth believing. */
export async function readKeyNote(iface: string, dir = lockDirectory()): Promise<KeyNote | null> {
  try {
    const path = lockPath(iface, dir, 'key');
    if (!(await lockDirectoryIsOurs(dirname(path)))) return null;
    const st = await lstat(path);
    if (untrustedBecause(st, { kind: 'file' }) !== null || st.nlink !== 1 || st.size > MAX_NOTE_BYTES) return null;
    const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof raw !== 'object' || raw === null) return null;
    const { hop, peer, negotiatedAt } = raw as Record<string, unknown>;
    const checked = checkHop(hop);
    if (checked === null || checked.interface !== iface || typeof peer !== 'string' || !WG_KEY.test(peer) || !isTime(negotiatedAt) || negotiatedAt === null) return null;
    return { hop: checked, peer, negotiatedAt };
  } catch {
    return null;
  }
}
