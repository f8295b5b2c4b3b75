/**
 * An unprivileged local user against the per-interface lock of a root pqpsk. It once
 * took the lock's abstract socket name first, and every run on the interface then exited
 * 2 ("managed by pqpsk pid 1", any pid it liked) — under wg-quick's PostUp the interface
 * was deleted — and answered `pqpsk status` with whatever it liked. Here the user
 * (nobody, through setpriv) binds the old abstract name with a forged reply and tries the
 * lock directory and the lock path itself; a root holder then takes the lock, `status`'s
 * question reaches that holder and no other, the user cannot even connect to it, and a
 * root `pqpsk negotiate` gets past the lock to `wg`. Root only (setpriv needs it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { askHolder, InterfaceLock, lockDirectory, lockPath } from '../../src/client/lock.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FAKE_WG_DIR = fileURLToPath(new URL('../../../test/fixtures/fake-wg', import.meta.url));
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * The squatter, as nobody: binds the old abstract name with a forged reply, then tries to
 * make the lock directory, bind the lock path and connect to it; prints what each gave
 * as one JSON line and stays (holding what it could) until killed.
 */
const SQUATTER = `
const net = require('node:net'), fs = require('node:fs');
const [iface, dir, path] = process.argv.slice(1);
const forged = JSON.stringify({ pid: 1, mode: 'watch', leaving: false, interfaces: {}, status: null }) + '\\n';
const tries = {};
const bind = (name) => new Promise((resolve) => {
  const s = net.createServer((c) => { c.on('error', () => {}); c.end(forged); });
  s.once('error', (e) => resolve(e.code));
  s.listen(name, () => resolve('bound'));
});
const reach = (name) => new Promise((resolve) => {
  const c = net.connect(name);
  c.on('error', (e) => resolve(e.code));
  c.on('connect', () => { c.destroy(); resolve('connected'); });
});
(async () => {
  tries.abstract = await bind('\\0pqpsk/' + iface);
  try { fs.mkdirSync(dir); tries.mkdir = 'made'; } catch (e) { tries.mkdir = e.code; }
  tries.bind = await bind(path);
  tries.connect = await reach(path);
  process.stdout.write(JSON.stringify(tries) + '\\n');
  setInterval(() => {}, 60000);
})();
`;

/** Starts the squatter for `iface` and waits for its report. */
async function squat(iface: string): Promise<{ child: ChildProcess; tries: Record<string, string> }> {
  const [file, ...args] = [...AS_NOBODY, process.execPath, '-e', SQUATTER, iface, lockDirectory(), lockPath(iface)];
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    child.once('exit', () => reject(new Error(`the squatter exited: ${text}`)));
  });
  return { child, tries: JSON.parse(line) as Record<string, string> };
}

/** What nobody gets when it connects to `path` `count` times (the holder's reply, or the error codes). */
async function flood(path: string, count: number): Promise<string[]> {
  const script = `const net = require('node:net'); const [path, n] = process.argv.slice(1); const out = [];
    let left = Number(n); for (let i = 0; i < Number(n); i++) { const c = net.connect(path); let got = '';
    c.on('data', (d) => (got += d)); const end = (r) => { out.push(r); if (--left === 0) process.stdout.write(JSON.stringify(out)); };
    c.on('error', (e) => end(e.code)); c.on('end', () => end(got)); }`;
  const [file, ...args] = [...AS_NOBODY, process.execPath, '-e', script, path, String(count)];
  const r = await execa(file!, args, { reject: false, timeout: 30_000 });
  return JSON.parse(String(r.stdout)) as string[];
}

test('an unprivileged squatter cannot hold, fake or flood a root run\'s lock', { skip: process.getuid?.() === 0 ? false : 'needs root (setpriv)' }, async (ctx) => {
  const iface = `pqsq${randomBytes(3).toString('hex')}`;
  const { child, tries } = await squat(iface);
  try {
    ctx.diagnostic(`the squatter's tries: ${JSON.stringify(tries)}`);
    assert.notEqual(tries['bind'], 'bound', 'nobody cannot bind the lock path');
    assert.notEqual(tries['connect'], 'connected', 'nobody cannot connect to the lock path');

    const lock = await InterfaceLock.acquire([iface], () => ({ pid: process.pid, mode: 'watch', interfaces: { [iface]: 5 } }));
    try {
      assert.deepEqual(await askHolder(iface), { pid: process.pid, mode: 'watch', leaving: false, interfaces: { [iface]: 5 }, status: null }, 'status reaches the root holder, not the squatter');
      const answers = await flood(lockPath(iface), 50);
      assert.deepEqual([...new Set(answers)], ['EACCES'], 'nobody reaches the holder at all');
    } finally {
      lock.release();
    }

    // A root one-shot run: past the lock, on to `wg` (which, faked, says the interface is missing).
    const r = await execa(process.execPath, [MAIN, 'negotiate', '--interface', iface], {
      reject: false,
      timeout: 60_000,
      extendEnv: false,
      env: { PATH: `${FAKE_WG_DIR}:${process.env['PATH'] ?? ''}`, PQPSK_FAKE_WG_EXIT: '1', PQPSK_FAKE_WG_STDERR: 'Unable to access interface: No such device\n' },
    });
    assert.doesNotMatch(String(r.stderr), /managed by/, 'the squatter did not make the run refuse the interface');
    assert.match(String(r.stderr), new RegExp(`no such WireGuard interface ${iface}`));
  } finally {
    child.kill('SIGKILL');
  }
});

test('the same interface name in two network namespaces: two locks, each taken', { skip: process.getuid?.() === 0 ? false : 'needs root (unshare)' }, async () => {
  const iface = `pqns${randomBytes(3).toString('hex')}`;
  const lock = fileURLToPath(new URL('../../src/client/lock.js', import.meta.url));
  const script = [
    `const { InterfaceLock, lockPath } = await import(${JSON.stringify(lock)});`,
    `await InterfaceLock.acquire([${JSON.stringify(iface)}], () => ({ pid: process.pid, mode: 'watch' }));`,
    `process.stdout.write(lockPath(${JSON.stringify(iface)}) + '\\n');`,
    'setInterval(() => undefined, 60_000);',
  ].join('\n');
  const child = spawn('unshare', ['--net', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let theirs = '';
  try {
    theirs = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`the holder in the other namespace exited (${code})`)));
    });
    assert.notEqual(theirs, lockPath(iface), 'a path of its own');
    const ours = await InterfaceLock.acquire([iface], () => ({ pid: process.pid, mode: 'watch' }));
    ours.release();
  } finally {
    child.kill('SIGKILL');
    // Killed, it leaves its socket file (stale, harmless; removed here to keep /run tidy).
    if (theirs !== '') rmSync(theirs, { force: true });
  }
});
