/**
 * WgSpawner: `wg` commands started by a helper process behave as if this process had
 * started them — output, exit codes, timeouts — and the helper never outlives its use.
 */
import assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { RealWgControl } from '../../src/wg/real.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import { alive, REPO_ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pqpsk-spawner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in `wg` from a shell body; `$@` are wg's arguments. */
function program(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a large output (a 10 000-peer allowed-ips listing) comes back byte for byte', async () => {
  const spawner = new WgSpawner();
  try {
    const key = (i: number): string => Buffer.from([i >> 8, i & 255, ...Buffer.alloc(30, 7)]).toString('base64');
    const ips = join(dir, 'allowed-ips.txt');
    const handshakes = join(dir, 'latest-handshakes.txt');
    writeFileSync(ips, Array.from({ length: 10_000 }, (_, i) => `${key(i)}\t10.${i >> 8}.${i & 255}.2/32\n`).join(''));
    writeFileSync(handshakes, Array.from({ length: 10_000 }, (_, i) => `${key(i)}\t${1_700_000_000 + i}\n`).join(''));
    const wg = new RealWgControl({ wgPath: program('wg-listing', `cat "${dir}/$3.txt"`), launcher: spawner });
    const routes = await wg.peerRoutes('wg0');
    assert.equal(routes.length, 10_000);
    const last = routes.find((r) => r.publicKey === key(9_999));
    assert.deepEqual(last?.allowedIps, ['10.39.15.2/32']);
    assert.equal(last?.latestHandshake, 1_700_009_999);
  } finally {
    spawner.close();
  }
});

test('a `wg` that hangs is stopped at its timeout and reported as TIMEOUT', async () => {
  const spawner = new WgSpawner();
  try {
    const wg = new RealWgControl({ wgPath: program('wg-hang', 'exec sleep 30'), launcher: spawner, timeoutMs: 200 });
    await assert.rejects(wg.publicKey('wg0'), (e: unknown) => isPqpskError(e, 'TIMEOUT') && /did not finish within 200 ms/.test(e.message));
  } finally {
    spawner.close();
  }
});

test('the helper dying fails its running command as SETUP, and the next command gets a new helper', async () => {
  const spawner = new WgSpawner();
  try {
    const pidFile = join(dir, 'hung.pid');
    const hung = new RealWgControl({ wgPath: program('wg-slow', `echo $$ > '${pidFile}'; exec sleep 30`), launcher: spawner });
    const pending = hung.publicKey('wg0');
    await until('the slow wg runs', () => readFileSync(pidFile, { flag: 'a+' }).length > 0);
    const first = spawner.pid!;
    process.kill(first, 'SIGKILL');
    await assert.rejects(pending, (e: unknown) => isPqpskError(e, 'SETUP') && e.message.includes('could not start `wg-slow` (ESPAWNERDIED)'));

    const wg = new RealWgControl({ wgPath: program('wg-key', `echo 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA='`), launcher: spawner });
    assert.equal(await wg.publicKey('wg0'), 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=');
    assert.notEqual(spawner.pid, first);
    // The orphaned `wg` did not survive its helper.
    const orphan = Number(readFileSync(pidFile, 'utf8'));
    await until('the orphaned wg is gone', () => !alive(orphan));
  } finally {
    spawner.close();
  }
});

test('close() stops the helper and what it runs; later commands fail cleanly', async () => {
  const spawner = new WgSpawner();
  const pidFile = join(dir, 'closing.pid');
  const wg = new RealWgControl({ wgPath: program('wg-closing', `echo $$ > '${pidFile}'; exec sleep 30`), launcher: spawner });
  const pending = wg.publicKey('wg0');
  await until('the slow wg runs', () => readFileSync(pidFile, { flag: 'a+' }).length > 0);
  const helper = spawner.pid!;
  spawner.close();
  await assert.rejects(pending, (e: unknown) => isPqpskError(e, 'SETUP'));
  await until('the helper is gone', () => !alive(helper));
  await until('its wg is gone', () => !alive(Number(readFileSync(pidFile, 'utf8'))));
  await assert.rejects(wg.publicKey('wg0'), (e: unknown) => isPqpskError(e, 'SETUP'));
});

test('an idle helper does not keep its parent process running', () => {
  const script = `
    import { WgSpawner } from '${REPO_ROOT}dist/src/wg/spawner.js';
    import { RealWgControl } from '${REPO_ROOT}dist/src/wg/real.js';
    const wg = new RealWgControl({ wgPath: '${program('wg-idle', "echo 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA='")}', launcher: new WgSpawner() });
    console.log(await wg.publicKey('wg0'));`;
  // Without unref the child would keep the event loop alive and execFileSync would hit its timeout.
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(out.trim(), 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=');
});

test('a malformed message is ignored: the helper keeps running what it runs, and answers it', async () => {
  const helper = fork(fileURLToPath(new URL('../../src/wg/spawner-child.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const replies: { id: number; exitCode: number | null }[] = [];
    helper.on('message', (m: { id: number; exitCode: number | null }) => replies.push(m));
    helper.send({ id: 1, file: '/bin/sleep', args: ['0.5'], env: {}, timeoutMs: 10_000, maxBytes: 1024 });
    for (const junk of ['malformed', 42, [], { id: 'x' }, { id: 2, file: 7 }, { id: 3, kill: 'yes' }] as const) helper.send(junk);
    await until('the command ran to its end', () => replies.length > 0);
    assert.deepEqual(replies.map((r) => [r.id, r.exitCode]), [[1, 0]]);
    assert.equal(helper.exitCode, null, 'the helper still runs');
  } finally {
    helper.kill('SIGKILL');
  }
});
