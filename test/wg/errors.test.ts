import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyFailure, type FailedRun } from '../../src/wg/errors.js';

const base: FailedRun = {
  iface: 'wg7',
  command: 'wg show wg7 dump',
  program: 'wg',
  exitCode: 1,
  signal: null,
  timedOut: false,
  timeoutMs: 10000,
  spawnCode: null,
  stderr: '',
};

test('missing interface, as wg reports it without and with the kernel module (recorded)', () => {
  for (const stderr of ['Unable to access interface: Protocol not supported\n', 'Unable to modify interface: Protocol not supported\n', 'Unable to access interface: No such device\n']) {
    const e = classifyFailure({ ...base, stderr });
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.message, 'no such WireGuard interface wg7 (command: wg show wg7 dump, exit code 1)');
    assert.equal(e.command, 'wg show wg7 dump');
    assert.equal(e.exitCode, 1);
    assert.equal(e.cause, undefined);
  }
});

test('missing programs read well and are SETUP errors', () => {
  const e = classifyFailure({ ...base, exitCode: null, spawnCode: 'ENOENT' });
  assert.equal(e.code, 'SETUP');
  assert.equal(e.message, 'the `wg` program was not found on PATH; install wireguard-tools (command: wg show wg7 dump)');
  const ip = classifyFailure({ ...base, program: 'ip', exitCode: null, spawnCode: 'ENOENT' });
  assert.match(ip.message, /^the `ip` program was not found on PATH; install iproute2/);
  // Recorded from `ip netns exec NS wg …` with no wg installed.
  const inNs = classifyFailure({ ...base, program: 'ip', exitCode: 255, stderr: 'exec of "wg" failed: No such file or directory\n' });
  assert.equal(inNs.code, 'SETUP');
  assert.match(inNs.message, /`wg` program was not found/);
});

test('stderr never reaches the message: a key-file complaint that echoes a key character', () => {
  const e = classifyFailure({ ...base, stderr: "Found trailing character in key file: `Q'\n" });
  assert.equal(e.code, 'WG_FAILURE');
  assert.ok(!e.message.includes('`Q'));
  assert.match(e.message, /could not read a key from the secret channel/);
});

test('timeouts, signals, permissions and the rest', () => {
  assert.equal(classifyFailure({ ...base, exitCode: null, timedOut: true, signal: 'SIGTERM' }).code, 'TIMEOUT');
  assert.match(classifyFailure({ ...base, exitCode: null, signal: 'SIGKILL' }).message, /killed by SIGKILL/);
  assert.equal(classifyFailure({ ...base, stderr: 'Unable to modify interface: Operation not permitted\n' }).code, 'SETUP');
  assert.equal(classifyFailure({ ...base, stderr: "Key is not the correct length or format: `notakey'\n" }).code, 'INVALID_INPUT');
  const other = classifyFailure({ ...base, exitCode: 3, stderr: 'something new\n' });
  assert.equal(other.code, 'WG_FAILURE');
  assert.equal(other.message, '`wg` failed (command: wg show wg7 dump, exit code 3)');
});
