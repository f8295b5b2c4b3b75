/**
 * `negotiate --watch --background --log-file PATH` from the outside: the detached watcher's
 * stdout and stderr land in PATH, appended, in a file created 0600; a symlink, a file
 * others may write and a --log-file without --background are refused with exit 2 before
 * any watcher starts. The watcher here runs on the fake `wg`, which answers as `wg` does
 * for an interface that does not exist, so the child ends at once with its own error line.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

function background(extra: string[]) {
  return execa(process.execPath, [MAIN, 'negotiate', '--interface', IFACE, '--watch', '--background', '--json', ...extra], {
    reject: false,
    timeout: 60_000,
    extendEnv: true,
    env: {
      PATH: `${FAKE_WG_DIR}:${process.env['PATH'] ?? ''}`,
      FAKE_WG_EXIT: '1',
      FAKE_WG_STDERR: 'Unable to access interface: No such device\n',
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

test('refused with exit 2, nothing written: a symlink, a file others may write, --log-file without --background', async () => {
  const target = join(dir, 'target');
  writeFileSync(target, 'untouched\n', { mode: 0o600 });
  const link = join(dir, 'link.log');
  symlinkSync(target, link);
  const open = join(dir, 'open.log');
  writeFileSync(open, '');
  chmodSync(open, 0o622);
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['--log-file', link], message: /--log-file .*link\.log: is a symlink/ },
    { args: ['--log-file', open], message: /--log-file .*open\.log: writable by group or others \(mode 622\)/ },
  ];
  for (const c of cases) {
    const r = await background(c.args);
    assert.equal(r.exitCode, 2, String(r.stderr));
    assert.match(String(r.stderr), c.message);
  }
  assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
  assert.equal(readFileSync(open, 'utf8'), '');
  const foreground = await execa(process.execPath, [MAIN, 'negotiate', '--interface', IFACE, '--watch', '--log-file', join(dir, 'fg.log')], { reject: false, timeout: 30_000 });
  assert.equal(foreground.exitCode, 2);
  assert.match(String(foreground.stderr), /--log-file: only with --background/);
});

test('negotiate --help explains --log-file', async () => {
  const r = await execa(process.execPath, [MAIN, 'negotiate', '--help'], { reject: false, timeout: 30_000 });
  assert.equal(r.exitCode, 0);
  for (const needle of ['--log-file', 'mode\n  0600', 'symlink']) assert.ok(String(r.stdout).includes(needle), `help mentions ${JSON.stringify(needle)}`);
});
