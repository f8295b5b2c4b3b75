/**
 * The secret channel's runtime directory at start: FIFO directories that dead pqpsk
 * processes left behind (SIGKILL skips the exit handler) are removed — only those that
 * are ours by name, owner and a pid that no longer exists — and everything else is kept.
 * Each case runs in a fresh process, since a process makes its directory once.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { execa } from 'execa';

const CHANNEL = fileURLToPath(new URL('../../src/wg/secret-channel.js', import.meta.url));
/** The unprivileged user the tests act as. */
const NOBODY = 65534;
const root = mkdtempSync(join(tmpdir(), 'pqpsk-runtime-dir-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = execa('true');
  const pid = child.pid;
  await child;
  assert.ok(pid !== undefined);
  return pid;
}

/** Opens one secret channel in a fresh process (run through `as`, e.g. setpriv) with `env`; its directory, or the error's code and message. */
async function tryOpen(env: Record<string, string>, as: readonly string[] = []): Promise<string> {
  const script =
    `const { SecretChannel } = await import(${JSON.stringify(CHANNEL)}); ` +
    `try { process.stdout.write((await SecretChannel.open()).dir); } catch (e) { process.stdout.write(e.code + ': ' + e.message); }`;
  const [file, ...args] = [...as, process.execPath, '--input-type=module', '-e', script];
  const r = await execa(file!, args, { env, extendEnv: false, reject: false, timeout: 30_000 });
  assert.equal(r.exitCode, 0, String(r.stderr));
  return String(r.stdout);
}

/** Opens one secret channel in a fresh process whose runtime base is `base`; returns the channel's directory. */
async function openChannelIn(base: string, as: readonly string[] = []): Promise<string> {
  const dir = await tryOpen({ PQPSK_RUNTIME_DIR: base }, as);
  assert.ok(dir.startsWith(join(base, 'pqpsk-')), dir);
  return dir;
}

test('at start, the empty FIFO directories of dead pqpsk processes are removed; a live pid, another owner or another name is kept', async () => {
  const base = join(root, 'run');
  mkdirSync(base, { mode: 0o700 });
  const dead = await deadPid();
  const names = {
    dead: `pqpsk-${dead}-AbC123`,
    deadWithSlot: `pqpsk-${dead}-xYz789`,
    live: `pqpsk-${process.pid}-Qwe456`,
    otherOwner: `pqpsk-${dead}-Own000`,
    otherName: `pqpsk-${dead}-toolongname`,
    notOurs: `other-${dead}-AbC123`,
  };
  for (const name of Object.values(names)) mkdirSync(join(base, name), { mode: 0o700 });
  mkdirSync(join(base, names.deadWithSlot, '0'), { mode: 0o700 });
  const others = process.getuid?.() === 0;
  if (others) chownSync(join(base, names.otherOwner), NOBODY, NOBODY);

  await openChannelIn(base);

  const left = readdirSync(base).sort();
  const expected = [names.live, names.otherName, names.notOurs, ...(others ? [names.otherOwner] : [])].sort();
  assert.deepEqual(left, expected, 'the dead ones are gone, the rest is kept (and the new process removed its own at exit)');
});

test('as an unprivileged user: its own dead directories are removed, root\'s are kept', { skip: process.getuid?.() === 0 ? false : 'needs root to act as another user' }, async () => {
  chmodSync(root, 0o755);
  const base = join(root, 'user-run');
  mkdirSync(base, { mode: 0o700 });
  chownSync(base, NOBODY, NOBODY);
  const dead = await deadPid();
  const mine = `pqpsk-${dead}-Mine01`;
  const roots = `pqpsk-${dead}-Root01`;
  mkdirSync(join(base, mine), { mode: 0o700 });
  chownSync(join(base, mine), NOBODY, NOBODY);
  mkdirSync(join(base, roots), { mode: 0o700 });

  await openChannelIn(base, ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']);

  assert.deepEqual(readdirSync(base), [roots]);
});

test('systemd\'s $RUNTIME_DIRECTORY is used, with the same checks; a directory that cannot be made is a set-up error naming it', async () => {
  const unit = join(root, 'unit-runtime');
  mkdirSync(unit, { mode: 0o700 });
  assert.ok((await tryOpen({ RUNTIME_DIRECTORY: unit })).startsWith(join(unit, 'pqpsk-')), 'the channel lives in the unit\'s runtime directory');
  chmodSync(unit, 0o777);
  assert.equal(await tryOpen({ RUNTIME_DIRECTORY: unit }), `SETUP: runtime directory ${unit}: writable by group or others (mode 777)`);
  if (process.getuid?.() !== 0) return;
  // An unprivileged user pointed at a directory it may not create.
  chmodSync(root, 0o755);
  const closed = join(root, 'closed');
  mkdirSync(closed, { mode: 0o755 });
  const base = join(closed, 'run');
  assert.equal(
    await tryOpen({ PQPSK_RUNTIME_DIR: base }, ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']),
    `SETUP: runtime directory ${base}: permission denied (EACCES)`,
  );
});

test('a user other than root with no runtime directory gets its FIFOs in a 0700 directory of its own in the sticky temporary directory; a shared one that is not sticky is refused', async () => {
  const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const shared = join(root, 'shared-tmp');
  mkdirSync(shared);
  chmodSync(root, 0o711);
  chmodSync(shared, 0o1777);
  assert.ok((await tryOpen({ TMPDIR: shared }, asNobody)).startsWith(join(shared, 'pqpsk-')), 'sticky and root-owned: the channel opens there');
  chmodSync(shared, 0o777);
  assert.equal(await tryOpen({ TMPDIR: shared }, asNobody), `SETUP: runtime directory ${shared}: writable by group or others (mode 777)`);
});
