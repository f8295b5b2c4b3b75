/**
 * `negotiate --watch --background --log-file PATH` from the outside: the detached watcher's
 * stdout and stderr land in PATH, appended, in a file created 0600. A log another user
 * could steer (a symlink in the file or a directory above it, a second hard link, a file
 * or directory others may write, another user's file) is refused with a warning and the
 * watcher runs without it, so a wg-quick PostUp never fails over the log; --log-file
 * without --background is a usage error. The watcher here runs on the fake `wg`, which answers as `wg` does
 * for an interface that does not exist, so the child ends at once with its own error line.
 */
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { execa } from 'execa';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FAKE_WG_DIR = fileURLToPath(new URL('../../../test/fixtures/fake-wg', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pqpsk-log-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A per-run interface name, so the interface lock never meets another test run's. */
const IFACE = `pqlog${process.pid % 100000}`;

/** `negotiate --background` on the fake `wg`; its knobs carry pqpsk's prefix, the only variables the watcher keeps. */
function background(extra: string[], wg: Record<string, string> = { PQPSK_FAKE_WG_STDERR: 'Unable to access interface: No such device\n' }) {
  return execa(process.execPath, [MAIN, 'negotiate', '--interface', IFACE, '--watch', '--background', '--json', ...extra], {
    reject: false,
    timeout: 60_000,
    extendEnv: true,
    env: {
      PATH: `${FAKE_WG_DIR}:${process.env['PATH'] ?? ''}`,
      PQPSK_FAKE_WG_EXIT: '1',
      ...wg,
      PQPSK_RUNTIME_DIR: join(dir, 'run'),
    },
  });
}

test('the detached watcher writes its stdout and stderr into --log-file, appended after what was there', async () => {
  const log = join(dir, 'existing.log');
  writeFileSync(log, 'an earlier line\n', { mode: 0o600 });
  const r = await background(['--log-file', log]);
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.match(String(r.stderr), new RegExp(`no such WireGuard interface ${IFACE}`), 'the parent says why the watcher ended');
  const lines = readFileSync(log, 'utf8').split('\n');
  assert.equal(lines[0], 'an earlier line', 'appended, not truncated');
  // Every line the watcher writes is dated, its last words too.
  const dated = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
  assert.ok(lines.some((l) => dated.test(l) && l.replace(dated, '').startsWith(`pqpsk negotiate: no such WireGuard interface ${IFACE} `)), `the child's dated stderr line is in the file:\n${lines.join('\n')}`);
  assert.ok(lines.some((l) => dated.test(l) && l.replace(dated, '').startsWith('{"ok":false,"code":"NOT_FOUND"')), `the child's dated stdout line is in the file:\n${lines.join('\n')}`);
  assert.ok(lines.slice(1).every((l) => l === '' || dated.test(l)), `no undated line:\n${lines.join('\n')}`);
});

test('a new --log-file is created with mode 0600', async () => {
  const log = join(dir, 'new.log');
  const r = await background(['--log-file', log]);
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.equal(statSync(log).mode & 0o777, 0o600);
  assert.match(readFileSync(log, 'utf8'), /pqpsk negotiate: no such WireGuard interface/);
});

test('a log others could steer is refused with a warning, and the watcher runs without it: PostUp does not fail', async () => {
  // A watcher that starts and then fails on a `wg` error (not a local set-up error): the
  // parent then exits 0, as under wg-quick, unless something of its own is wrong.
  const wgFails = { PQPSK_FAKE_WG_STDERR: 'something went wrong\n' };
  const target = join(dir, 'target');
  writeFileSync(target, 'untouched\n', { mode: 0o600 });
  const link = join(dir, 'link.log');
  symlinkSync(target, link);
  const open = join(dir, 'open.log');
  writeFileSync(open, '');
  chmodSync(open, 0o622);
  const linked = join(dir, 'second-name.log');
  linkSync(target, linked);
  // A symlinked parent directory: the file at its end would be written.
  const real = join(dir, 'real');
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(dir, 'linked-dir'));
  const loose = join(dir, 'loose');
  mkdirSync(loose);
  chmodSync(loose, 0o777);
  // Another user's file, planted in a shared sticky directory (as in /tmp) before the tunnel comes up.
  chmodSync(dir, 0o755);
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const planted = join(shared, 'pqpsk.log');
  const plant = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'touch', planted], { reject: false });
  assert.equal(plant.exitCode, 0, String(plant.stderr));
  const cases: { log: string; message: string }[] = [
    { log: link, message: `--log-file ${link}: is a symlink; give the real file` },
    { log: open, message: `--log-file ${open}: writable by group or others (mode 622); chmod 600 it` },
    { log: linked, message: `--log-file ${linked}: has 2 hard links; give a file of its own` },
    { log: join(dir, 'linked-dir', 'x.log'), message: `--log-file ${join(dir, 'linked-dir', 'x.log')}: directory ${join(dir, 'linked-dir')}: is a symlink; give the path without symlinks` },
    { log: join(loose, 'x.log'), message: `--log-file ${join(loose, 'x.log')}: directory ${loose}: writable by group or others (mode 777)` },
    { log: planted, message: `--log-file ${planted}: owned by uid 65534, not by this process (uid 0)` },
  ];
  for (const c of cases) {
    const r = await background(['--log-file', c.log], wgFails);
    assert.equal(r.exitCode, 0, `${c.log}: ${String(r.stderr)}`);
    assert.deepEqual(String(r.stderr).split('\n').filter((l) => l !== ''), [`pqpsk negotiate: ${c.message}; the watcher runs without a log`, `pqpsk negotiate: \`wg\` failed (command: wg show ${IFACE}, exit code 1)`], c.log);
  }
  assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
  assert.equal(readFileSync(open, 'utf8'), '');
  assert.equal(readFileSync(planted, 'utf8'), '');
  assert.deepEqual(readdirSync(real), [], 'nothing created through the symlinked directory');
  assert.deepEqual(readdirSync(loose), []);
});

test('--log-file without --background is a usage error (exit 2)', async () => {
  const foreground = await execa(process.execPath, [MAIN, 'negotiate', '--interface', IFACE, '--watch', '--log-file', join(dir, 'fg.log')], { reject: false, timeout: 30_000 });
  assert.equal(foreground.exitCode, 2);
  assert.match(String(foreground.stderr), /--log-file: only with --background/);
});

test('negotiate --help explains --log-file', async () => {
  const r = await execa(process.execPath, [MAIN, 'negotiate', '--help'], { reject: false, timeout: 30_000 });
  assert.equal(r.exitCode, 0);
  for (const needle of ['--log-file', 'mode\n  0600', 'symlink']) assert.ok(String(r.stdout).includes(needle), `help mentions ${JSON.stringify(needle)}`);
});
