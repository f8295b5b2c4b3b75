import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { bedPrerequisites } from '../../src/testbed/prereq.js';
import { e2eSkip, requireBed } from '../e2e/gate.js';

const saved = { PATH: process.env.PATH, CI: process.env.CI };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.CI === undefined) delete process.env.CI;
  else process.env.CI = saved.CI;
});

function withEmptyPath<T>(fn: () => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-nopath-'));
  process.env.PATH = dir;
  try {
    return fn();
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('without the tools the e2e tests skip with one line naming what is missing', () => {
  delete process.env.CI;
  const reason = withEmptyPath(() => e2eSkip());
  assert.equal(typeof reason, 'string');
  assert.ok(!String(reason).includes('\n'));
  if (process.getuid?.() === 0) {
    assert.equal(reason, 'real WireGuard bed unavailable: missing `ip`, `wg`, `wireguard-go`, `ping` (install iproute2 wireguard-tools wireguard-go iputils-ping) (CI=true makes this a failure)');
  } else {
    assert.match(String(reason), /needs root/);
  }
});

test('under CI=true they are not skipped, and fail loudly saying why', () => {
  process.env.CI = 'true';
  withEmptyPath(() => {
    assert.equal(e2eSkip(), false);
    assert.throws(() => requireBed(), /^Error: CI=true, but the real WireGuard bed cannot run here: /);
  });
});

test('prerequisites reflect this machine', () => {
  const p = bedPrerequisites();
  if (process.getuid?.() !== 0) assert.equal(p.ok, false);
  if (p.ok) assert.equal(e2eSkip(), false);
});
