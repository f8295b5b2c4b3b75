/**
 * The per-interface lock: one holder at a time, and a new run that waits — for a bounded
 * time only — for a holder on its way out; a stale socket file left by a holder that died
 * is replaced; the lock directory is checked before use. Each test has a lock directory
 * of its own, so no real pqpsk lock on this machine is touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { InterfaceLock, askHolder, holderIsLeaving, lockPath, type HolderInfo, type YieldOptions } from '../../src/client/lock.js';

const lockDir = (): string => mkdtempSync(join(tmpdir(), 'pqpsk-lock-test-'));
const yieldTo = (waitMs: number): YieldOptions => ({ leaving: (holder, iface) => holderIsLeaving(holder, iface, 12), waitMs });

test('holderIsLeaving: a holder that says so, or one managing a deleted interface of that name; an unknown index proves nothing', () => {
  const holder = (extra: Partial<HolderInfo>): HolderInfo => ({ pid: 1, mode: 'watch', ...extra });
  assert.equal(holderIsLeaving(holder({ leaving: true }), 'wg0', 12), true);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 11 } }), 'wg0', 12), true);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 12 } }), 'wg0', 12), false);
  assert.equal(holderIsLeaving(holder({}), 'wg0', 12), false, 'an older holder that tells nothing');
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 0 } }), 'wg0', 12), false);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 11 } }), 'wg0', 0), false);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg1: 11 } }), 'wg0', 12), false);
});

test('a holder that is not leaving: refused at once, naming it', async () => {
  const p = lockDir();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', interfaces: { wg0: 12 } }), p);
  try {
    const started = performance.now();
    await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(5_000)), {
      code: 'SETUP',
      message: 'wg0 is managed by pqpsk pid 4242 (negotiate --watch); not touching it',
    });
    assert.ok(performance.now() - started < 1_000, 'no waiting');
  } finally {
    held.release();
  }
});

test('a holder of the deleted interface that lets go after 300 ms: the new run waits and takes the lock', async () => {
  const p = lockDir();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', interfaces: { wg0: 11 } }), p);
  setTimeout(() => held.release(), 300);
  const started = performance.now();
  const lock = await InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(5_000));
  const ms = performance.now() - started;
  lock.release();
  assert.ok(ms >= 250 && ms < 2_000, `took the lock after ${Math.round(ms)} ms`);
});

test('a holder that says "leaving" forever: the new run gives up after the bound, saying why', async () => {
  const p = lockDir();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', leaving: true }), p);
  try {
    const started = performance.now();
    await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(1_000)), {
      code: 'SETUP',
      message: 'wg0 is managed by pqpsk pid 4242 (negotiate --watch), which is stopping but did not let go within 1 s; not touching it',
    });
    const ms = performance.now() - started;
    assert.ok(ms >= 1_000 && ms < 4_000, `gave up after ${Math.round(ms)} ms`);
  } finally {
    held.release();
  }
});

test('a stale socket file (its holder died without closing it) is replaced, and the new holder answers', async () => {
  const dir = lockDir();
  const path = lockPath('wg0', dir);
  // A holder killed with SIGKILL: its socket file stays, nobody listens on it.
  const child = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.equal(child.signal, 'SIGKILL');
  assert.ok(lstatSync(path).isSocket(), 'the dead holder left its socket file');
  assert.equal(await askHolder('wg0', 2_000, path), null, 'a stale file is nobody');
  const lock = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', interfaces: { wg0: 12 } }), dir);
  try {
    assert.deepEqual(await askHolder('wg0', 2_000, path), { pid: 4242, mode: 'watch', leaving: false, interfaces: { wg0: 12 }, status: null });
    assert.deepEqual(readdirSync(dir), [basename(path)], 'nothing left beside the lock');
  } finally {
    lock.release();
  }
  assert.deepEqual(readdirSync(dir), [], 'release removes the socket file');
});

test('the lock directory is made 0700, and one that is a symlink, open to others or not ours is refused, naming it', async () => {
  const base = lockDir();
  const fresh = join(base, 'fresh');
  const lock = await InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'negotiate' }), fresh);
  lock.release();
  assert.equal(statSync(fresh).mode & 0o777, 0o700);

  const open = join(base, 'open');
  mkdirSync(open, { mode: 0o700 });
  chmodSync(open, 0o755);
  await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'negotiate' }), open), {
    code: 'SETUP',
    message: `lock directory ${open}: group or others have access (mode 755); it must be 0700`,
  });
  const link = join(base, 'link');
  symlinkSync(fresh, link);
  await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'negotiate' }), link), {
    code: 'SETUP',
    message: `lock directory ${link}: is a symlink`,
  });
  if (process.getuid?.() === 0) {
    const theirs = join(base, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'negotiate' }), theirs), {
      code: 'SETUP',
      message: `lock directory ${theirs}: owned by uid 65534, not by this process (uid 0)`,
    });
    assert.equal(await askHolder('wg0', 2_000, lockPath('wg0', theirs)), 'untrusted', 'status believes nothing in a directory not ours');
  }
});
