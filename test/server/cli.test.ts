/**
 * `pqpsk server` start-up failures from the outside: one line on stderr, exit code 2,
 * nothing on stdout; and a --help that answers an operator's questions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { execa } from 'execa';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function pqpsk(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [MAIN, ...args], { reject: false, timeout: 30_000, env, extendEnv: true });
}

test('start-up failures: one clear line on stderr and exit 2', async () => {
  const state = mkdtempSync(join(tmpdir(), 'pqpsk-cli-state-'));
  // Run as root, `pqpsk server` runs its relay as --user (an unprivileged one every system has).
  const as = ['--user', 'nobody', '--state-dir', state];
  const cases: { args: string[]; env?: Record<string, string>; message: RegExp }[] = [
    { args: ['server', '--interface', 'nosuch0', ...as], message: /^pqpsk server: no network interface nosuch0 / },
    { args: ['server', '--interface', 'lo', ...as, '--listen', '127.0.0.1:0', '--ephemeral-ttl', '600'], message: /^pqpsk server: --ephemeral-ttl: expected a duration/ },
    { args: ['server', '--interface', 'lo', ...as, '--listen', 'everywhere'], message: /^pqpsk server: --listen: expected ip:port/ },
    // A TTL shorter than WireGuard's re-handshake interval would expire busy tunnels.
    { args: ['server', '--interface', 'lo', ...as, '--listen', '127.0.0.1:0', '--ephemeral-ttl', '90s'], message: /^pqpsk server: --ephemeral-ttl: at least 3m.*re-handshakes only every 2 minutes/ },
    { args: ['server', '--interface', 'lo', ...as, '--listen', '127.0.0.1:0', '--max-inflight', '0'], message: /^pqpsk server: --max-inflight/ },
    // `lo` exists but is not WireGuard.
    { args: ['server', '--interface', 'lo', ...as, '--listen', '127.0.0.1:0'], message: /^pqpsk server: no such WireGuard interface lo/ },
    // PATH plays no part: the root broker takes `wg` from the system directories.
    { args: ['server', '--interface', 'lo', ...as, '--listen', '127.0.0.1:0'], env: { PATH: '/nonexistent-pqpsk' }, message: /^pqpsk server: no such WireGuard interface lo/ },
    // The relay user must exist; the line says how to create it.
    {
      args: ['server', '--interface', 'lo', '--user', 'pqpsk-nosuch', '--state-dir', state],
      message: /^pqpsk server: --user pqpsk-nosuch: no such user; create it with `useradd --system --no-create-home --shell \/usr\/sbin\/nologin pqpsk-nosuch` or name another with --user$/,
    },
  ];
  if (process.getuid?.() !== 0) cases.splice(-2);
  for (const c of cases) {
    const r = await pqpsk(c.args, c.env);
    assert.equal(r.exitCode, 2, `${c.args.join(' ')}: ${String(r.stderr)}`);
    const lines = String(r.stderr).trim().split('\n');
    assert.equal(lines.length, 1, String(r.stderr));
    assert.match(lines[0]!, c.message);
    assert.equal(String(r.stdout), '');
  }
  rmSync(state, { recursive: true, force: true });
});

test('--help explains listening, state, metrics, signals and exit codes', async () => {
  const r = await pqpsk(['server', '--help']);
  assert.equal(r.exitCode, 0);
  const text = String(r.stdout);
  for (const needle of ['--interface', '--listen', 'port\n  1337', '--metrics', '/healthz', '--ephemeral-ttl', '--max-inflight', '--log-level', '--state-dir', 'mode 0600', 'SIGTERM', 'exit 2', 'never listens on all']) {
    assert.ok(text.includes(needle), `help mentions ${JSON.stringify(needle)}`);
  }
});
