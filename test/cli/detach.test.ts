/**
 * The detached watcher of `negotiate --background` keeps what it holds in memory (the
 * parent private key, the current PSK) to itself: no core dump (RLIMIT_CORE 1 byte, soft
 * and hard), `/` as working directory, umask 077, and only the environment it needs —
 * while a relative --config-file still names the same file. Seen from the fake `wg` the
 * watcher runs, which inherits all four and records them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { encodeKeyBase64, generatePrivateKey } from '../../src/wg/keys.js';
import { childArgv } from '../../src/cli/commands/negotiate-run.js';
import { watcherEnvironment } from '../../src/cli/detach.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FAKE_WG_DIR = fileURLToPath(new URL('../../../test/fixtures/fake-wg', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pqpsk-detach-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const IFACE = `pqdet${process.pid % 100000}`;

test('the detached watcher runs with no core dump, in /, with umask 077 and a trimmed environment', async () => {
  const logs = join(dir, 'wg-calls');
  mkdirSync(logs);
  const cwd = join(dir, 'cwd');
  mkdirSync(join(cwd, 'conf'), { recursive: true });
  const key = generatePrivateKey();
  writeFileSync(join(cwd, 'conf', 'wg0.conf'), `[Interface]\nPrivateKey = ${Buffer.from(encodeKeyBase64('test key', key)).toString()}\n`, { mode: 0o600 });
  const r = await execa(process.execPath, [MAIN, 'negotiate', '--interface', IFACE, '--watch', '--background', '--config-file', 'conf/wg0.conf'], {
    cwd,
    reject: false,
    timeout: 60_000,
    extendEnv: false,
    env: {
      PATH: `${FAKE_WG_DIR}:${process.env['PATH'] ?? ''}`,
      PQPSK_RUNTIME_DIR: join(dir, 'run'),
      PQPSK_FAKE_WG_LOG_DIR: logs,
      PQPSK_FAKE_WG_EXIT: '1',
      PQPSK_FAKE_WG_STDERR: 'Unable to access interface: No such device\n',
      HOME: '/root',
      SSH_AUTH_SOCK: '/tmp/agent.sock',
      SOME_TOKEN: 'not for the watcher',
    },
  });
  assert.match(String(r.stderr), new RegExp(`no such WireGuard interface ${IFACE}`), 'the watcher read the relative --config-file and reached `wg`');
  const calls = readdirSync(logs).sort();
  assert.ok(calls.length > 0, 'the watcher ran `wg`');
  const seen = JSON.parse(readFileSync(join(logs, calls[0]!), 'utf8')) as { cwd: string; umask: string; coreLimit: string; envNames: string[] };
  assert.deepEqual(
    { cwd: seen.cwd, umask: seen.umask, coreLimit: seen.coreLimit, envNames: seen.envNames },
    // LC_ALL and WG_HIDE_KEYS are what the runner sets for every `wg`.
    { cwd: '/', umask: '0077', coreLimit: '1:1', envNames: ['LC_ALL', 'PATH', 'PQPSK_RUNTIME_DIR', 'WG_HIDE_KEYS'] },
  );
});

test('what the watcher keeps of the environment, and its argv: no --background, an absolute --config-file', () => {
  assert.deepEqual(watcherEnvironment({ PATH: '/bin', LANG: 'C.UTF-8', TZ: 'UTC', PQPSK_RUNTIME_DIR: '/run/x', HOME: '/root', NODE_OPTIONS: '--require /tmp/x.js', LD_PRELOAD: '/tmp/x.so' }), {
    PATH: '/bin',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    PQPSK_RUNTIME_DIR: '/run/x',
  });
  assert.deepEqual(childArgv(['--interface', 'wg0', '--background', '--config-file', 'a/b.conf', '--rotate=1h'], 'a/b.conf'), ['--interface', 'wg0', '--rotate=1h', '--config-file', join(process.cwd(), 'a/b.conf')]);
  assert.deepEqual(childArgv(['--background=true', '--config-file=/etc/wireguard/wg0.conf'], '/etc/wireguard/wg0.conf'), ['--config-file', '/etc/wireguard/wg0.conf']);
  assert.deepEqual(childArgv(['--interface', 'wg0', '--background'], undefined), ['--interface', 'wg0']);
});
