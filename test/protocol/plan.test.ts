import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptTimeoutMs, negotiationOrder } from '../../src/protocol/plan.js';

test('attempt timeouts follow 8, 16, 32, 48, 48 seconds', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10, 1000].map((a) => attemptTimeoutMs(a)), [8000, 16000, 32000, 48000, 48000, 48000, 48000]);
});

test('a test scale shrinks every timeout proportionally', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((a) => attemptTimeoutMs(a, 0.01)), [80, 160, 320, 480, 480]);
});

test('nonsense attempts and scales are labelled errors', () => {
  assert.throws(() => attemptTimeoutMs(-1), /attempt: expected a whole number/);
  assert.throws(() => attemptTimeoutMs(0, 0), /timeout scale/);
  assert.throws(() => attemptTimeoutMs(0, 2), /timeout scale/);
});

test('multihop negotiates the exit before the entry', () => {
  const order = negotiationOrder([
    { role: 'entry', iface: 'wg-entry' },
    { role: 'exit', iface: 'wg-exit' },
  ] as const);
  assert.deepEqual(order.map((h) => h.role), ['exit', 'entry']);
});
