/**
 * The throughput bench's split of a registration's time at the relay by what ran
 * meanwhile: each moment goes to the first kind in the order given that had a call
 * running, calls of others (the poller's) included, and the rest is `other`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallTimes, stepsOf } from '../../bench/harness/timed-wg.js';

const ORDER = ['wg set', 'wg read', 'book save', 'wg latest-handshakes (watcher)'];
const near = (actual: number | undefined, expected: number): void => assert.ok(actual !== undefined && Math.abs(actual - expected) < 0.5, `${actual} ≈ ${expected}`);

test('a lone registration: the poller read it queued behind, then read, save and set; the rest is other', () => {
  const spans = [
    { what: 'wg latest-handshakes (watcher)', from: -20, to: 10 },
    { what: 'wg read', from: 12, to: 40 },
    { what: 'book save', from: 40, to: 45 },
    { what: 'wg set', from: 45, to: 70 },
    { what: 'book save', from: 70, to: 90 },
  ];
  const steps = stepsOf({ from: 0, to: 75 }, spans, ORDER);
  near(steps.get('wg latest-handshakes (watcher)'), 10);
  near(steps.get('wg read'), 28);
  near(steps.get('book save'), 10);
  near(steps.get('wg set'), 25);
  near(steps.get('other'), 2);
});

test('calls that overlap count once, for the kind first in the order', () => {
  const spans = [
    { what: 'book save', from: 0, to: 30 },
    { what: 'wg read', from: 10, to: 20 },
  ];
  const steps = stepsOf({ from: 0, to: 30 }, spans, ORDER);
  near(steps.get('wg read'), 10);
  near(steps.get('book save'), 20);
  near(steps.get('other'), 0);
});

test('CallTimes keeps the spans of the calls it timed after a reset, not before it or after stop', async () => {
  const times = new CallTimes();
  await times.time('wg set', async () => undefined);
  times.reset();
  await times.time('wg read', () => new Promise((r) => setTimeout(r, 5)));
  times.stop();
  await times.time('wg set', async () => undefined);
  assert.deepEqual(times.spans.map((s) => s.what), ['wg read']);
  assert.ok(times.spans[0]!.to - times.spans[0]!.from >= 4);
});
