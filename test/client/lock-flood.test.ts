/**
 * Any local user can connect to an interface's lock socket. A flood of connections that
 * never read must cost the holder a few descriptors at most — it once kept every one
 * open until the process ran out and crashed on its next `wg` — and a legitimate
 * `pqpsk status` must still get its answer. The holder runs in a process of its own so
 * that its descriptors can be counted apart from the flood's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { askHolder, lockPath, MAX_LOCK_CONNECTIONS } from '../../src/client/lock.js';
import { REPO_ROOT } from '../wg/helpers.js';

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test('200 connections that never read: the holder keeps at most a handful open, and still answers status', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-lock-test-'));
  const lock = pathToFileURL(join(REPO_ROOT, 'dist/src/client/lock.js')).href;
  const script = [
    `import { InterfaceLock } from ${JSON.stringify(lock)};`,
    `await InterfaceLock.acquire(['wg0'], () => ({ pid: process.pid, mode: 'negotiate', interfaces: { wg0: 3 } }), ${JSON.stringify(dir)});`,
    `process.stdout.write('ready\\n');`,
    `setInterval(() => undefined, 60_000);`,
  ].join('\n');
  const holder = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const flood: Socket[] = [];
  try {
    await once(holder.stdout, 'data');
    const pid = holder.pid!;
    const before = openFds(pid);
    for (let i = 0; i < 200; i++) {
      const s = connect(lockPath('wg0', dir));
      s.on('error', () => undefined);
      // Never read: the holder's line stays unread in the socket.
      s.pause();
      flood.push(s);
    }
    await Promise.all(flood.map((s) => once(s, 'connect').catch(() => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = openFds(pid);
    ctx.diagnostic(`holder's open descriptors: ${before} before the flood, ${during} during it`);
    assert.ok(during - before <= MAX_LOCK_CONNECTIONS, `the holder had ${before} descriptors open before the flood and ${during} during it`);
    const answer = await askHolder('wg0', 2_000, lockPath('wg0', dir));
    assert.deepEqual(answer, { pid, mode: 'negotiate', leaving: false, interfaces: { wg0: 3 }, status: null });
  } finally {
    for (const s of flood) s.destroy();
    holder.kill('SIGKILL');
  }
});
