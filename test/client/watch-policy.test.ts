import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advance,
  backoff,
  checkPolicy,
  DEFAULT_POLICY,
  initialState,
  nextAction,
  rotationDue,
  type WatchInput,
  type WatchPolicyConfig,
  type WatchState,
} from '../../src/client/watch-policy.js';

const T0 = 1_700_000_000_000;
const config: WatchPolicyConfig = { ...DEFAULT_POLICY, rotateMs: 60_000 };
const half = (): number => 0.5;

/** Feed inputs in order; every time is virtual. */
function run(state: WatchState, inputs: readonly WatchInput[], cfg = config): WatchState {
  return inputs.reduce((s, input) => advance(s, input, cfg, half), state);
}

/** A tunnel switched at T0 and protected since. */
function protectedAt(now = T0): WatchState {
  return run(initialState(now, false), [{ kind: 'negotiated', now }]);
}

test('starting: negotiate at once from the key found; success makes the tunnel protected with the rotation due one period later', () => {
  const s0 = initialState(T0, false);
  assert.deepEqual(nextAction(s0, T0), { kind: 'negotiate', route: 'ephemeral', attempt: 0 });
  const s1 = advance(s0, { kind: 'negotiated', now: T0 + 3000 }, config, half);
  assert.equal(s1.phase, 'protected');
  assert.equal(s1.onEphemeral, true);
  assert.equal(s1.dueAt, T0 + 3000 + 60_000, 'no jitter at random 0.5');
  assert.equal(s1.rotations, 0, 'the first switch is not a rotation');
  assert.deepEqual(nextAction(s1, T0 + 10_000), { kind: 'wait', untilMs: T0 + 63_000 });
});

test('rotation: due after the jittered period, from the live ephemeral key; counted on success', () => {
  const s = protectedAt();
  assert.equal(rotationDue(T0, config, () => 0), T0 + 54_000, '−10 %');
  assert.equal(rotationDue(T0, config, () => 0.999999), T0 + 66_000, '+10 %');
  assert.deepEqual(nextAction(s, T0 + 60_000), { kind: 'negotiate', route: 'ephemeral', attempt: 0 });
  const after = advance(s, { kind: 'negotiated', now: T0 + 61_000 }, config, half);
  assert.equal(after.rotations, 1);
  assert.equal(after.dueAt, T0 + 121_000);
});

test('rotation off: a protected tunnel only waits', () => {
  const cfg = { ...config, rotateMs: null };
  const s = run(initialState(T0, false), [{ kind: 'negotiated', now: T0 }], cfg);
  assert.equal(s.dueAt, Number.POSITIVE_INFINITY);
  assert.equal(nextAction(s, T0 + 365 * 86_400_000).kind, 'wait');
});

test('SIGHUP: rotate now, then back on the period', () => {
  const s = advance(protectedAt(), { kind: 'rotate-now', now: T0 + 5000 }, config, half);
  assert.deepEqual(nextAction(s, T0 + 5000), { kind: 'negotiate', route: 'ephemeral', attempt: 0 });
  const after = advance(s, { kind: 'negotiated', now: T0 + 6000 }, config, half);
  assert.equal(after.rotateNow, false);
  assert.equal(after.rotations, 1);
});

test('a failed rotation that rolled back stays protected and retries with doubling backoff', () => {
  let s = protectedAt();
  const fail = (now: number): WatchInput => ({ kind: 'negotiate-failed', now, code: 'VERIFY_FAILED', message: 'no handshake', working: true });
  s = advance(s, fail(T0 + 60_000), config, half);
  assert.equal(s.phase, 'protected');
  assert.equal(s.dueAt, T0 + 61_000);
  s = advance(s, fail(T0 + 61_000), config, half);
  assert.equal(s.dueAt, T0 + 63_000);
  assert.deepEqual(nextAction(s, T0 + 63_000), { kind: 'negotiate', route: 'ephemeral', attempt: 2 });
  assert.equal(s.lastError, 'no handshake');
  assert.deepEqual([1, 2, 3, 7, 8, 30].map((n) => backoff(n, config, half)), [1000, 2000, 4000, 60_000, 60_000, 60_000]);
});

test('backoff is spread ±50 % around its step, so a herd that failed together does not retry together', () => {
  assert.deepEqual([1, 3, 30].map((n) => backoff(n, config, () => 0)), [500, 2000, 30_000], 'half the step at the low end');
  assert.deepEqual([1, 3, 30].map((n) => backoff(n, config, () => 0.999999)), [1500, 6000, 90_000], 'one and a half at the high end');
  // Two watchers that fail at the same moment retry apart.
  const failed = (random: () => number): WatchState =>
    advance(initialState(T0, false), { kind: 'negotiate-failed', now: T0, code: 'RESOURCE_EXHAUSTED', message: 'relay is busy', working: true }, config, random);
  assert.equal(failed(() => 0.1).dueAt, T0 + 600);
  assert.equal(failed(() => 0.9).dueAt, T0 + 1400);
});

test('PERMISSION_DENIED for the ephemeral parent: next the parent claim, then through the parent key; the route is kept', () => {
  let s = protectedAt();
  const denied = (now: number): WatchInput => ({ kind: 'negotiate-failed', now, code: 'PERMISSION_DENIED', message: 'denied', working: true });
  s = advance(s, denied(T0 + 60_000), config, half);
  assert.deepEqual(nextAction(s, T0 + 60_000), { kind: 'negotiate', route: 'parent-claim', attempt: 0 }, 'at once, no backoff');
  s = advance(s, denied(T0 + 60_100), config, half);
  assert.equal(s.phase, 'dead');
  assert.deepEqual(nextAction(s, T0 + 60_100), { kind: 'fall-back' });
  s = advance(s, { kind: 'fell-back', now: T0 + 61_000, working: true }, config, half);
  assert.equal(s.phase, 'unprotected');
  assert.deepEqual(nextAction(s, T0 + 61_000), { kind: 'negotiate', route: 'ephemeral', attempt: 0 }, 'on the parent key the request names it');
  s = advance(s, { kind: 'negotiated', now: T0 + 62_000 }, config, half);
  assert.equal(s.rotations, 1, 'a rotation through the parent, not a recovery');
  assert.equal(s.recoveries, 0);
  assert.equal(s.route, 'parent-key');
  assert.deepEqual(nextAction(s, T0 + 62_000 + 60_000), { kind: 'fall-back' }, 'later rotations go through the parent key directly');
});

test('traffic out and none back: suspect, probe; no answer: dead, back to the parent key, then a new PSK counted as a recovery', () => {
  let s = protectedAt();
  const tick = (dt: number, tx: number, rx: number): WatchInput => ({ kind: 'tick', now: T0 + dt, traffic: [{ tx, rx }] });
  s = run(s, [tick(1000, 100, 100), tick(2000, 200, 200), tick(3000, 300, 200)]);
  assert.equal(s.phase, 'protected', 'one silent second is not enough');
  s = run(s, [tick(4000, 400, 200)]);
  assert.equal(s.phase, 'suspect', 'silent since the look at 2 s, 2 s ≥ 1.5 s');
  assert.deepEqual(nextAction(s, T0 + 4000), { kind: 'probe' });
  s = advance(s, { kind: 'probed', now: T0 + 6000, alive: false }, config, half);
  assert.equal(s.phase, 'dead');
  assert.deepEqual(nextAction(s, T0 + 6000), { kind: 'fall-back' });
  s = advance(s, { kind: 'fell-back', now: T0 + 7000, working: true }, config, half);
  assert.equal(s.phase, 'unprotected');
  assert.equal(s.onEphemeral, false);
  assert.deepEqual(nextAction(s, T0 + 7000), { kind: 'negotiate', route: 'ephemeral', attempt: 0 });
  s = advance(s, { kind: 'negotiated', now: T0 + 9000 }, config, half);
  assert.equal(s.recoveries, 1);
  assert.equal(s.rotations, 0);
});

test('a small step back of the clock (under the jump threshold) does not push the start of a silence into the future', () => {
  let s = protectedAt();
  const tick = (dt: number, tx: number, rx: number): WatchInput => ({ kind: 'tick', now: T0 + dt, traffic: [{ tx, rx }] });
  s = run(s, [tick(1000, 100, 100), tick(2000, 200, 200), tick(-3000, 300, 200)]);
  assert.equal(s.phase, 'protected');
  assert.equal(s.silentSince[0], T0 - 3000, 'silent from the (stepped back) look, not from a look that lies ahead');
  s = run(s, [tick(-1500, 400, 200)]);
  assert.equal(s.phase, 'suspect', '1.5 s of silence on the new clock');
});

test('a probe that gets an answer: back to protected; quiet tunnels and busy two-way traffic are never suspect', () => {
  let s = protectedAt();
  const tick = (dt: number, tx: number, rx: number): WatchInput => ({ kind: 'tick', now: T0 + dt, traffic: [{ tx, rx }] });
  s = run(s, [tick(1000, 0, 0), tick(3000, 0, 0), tick(5000, 0, 0)]);
  assert.equal(s.phase, 'protected', 'idle');
  s = run(s, [tick(7000, 100, 50), tick(9000, 200, 90), tick(11_000, 300, 150)]);
  assert.equal(s.phase, 'protected', 'both ways');
  s = run(s, [tick(13_000, 400, 150), tick(15_000, 500, 150)]);
  assert.equal(s.phase, 'suspect');
  s = advance(s, { kind: 'probed', now: T0 + 16_000, alive: true }, config, half);
  assert.equal(s.phase, 'protected');
  assert.equal(s.traffic, null, 'the baseline starts again');
});

test('multihop: one silent hop is enough to suspect the pair', () => {
  let s = protectedAt();
  const tick = (dt: number, inner: number, outerRx: number): WatchInput => ({ kind: 'tick', now: T0 + dt, traffic: [{ tx: inner, rx: 10 }, { tx: inner, rx: outerRx }] });
  s = run(s, [tick(1000, 100, 100), tick(2000, 200, 200), tick(4000, 300, 300)]);
  assert.equal(s.phase, 'suspect');
});

test('suspend and resume (the clock jumps forward): suspect at once, probe, and the overdue rotation follows', () => {
  let s = protectedAt();
  s = advance(s, { kind: 'tick', now: T0 + 2000, traffic: null }, config, half);
  s = advance(s, { kind: 'tick', now: T0 + 8 * 3_600_000, traffic: null }, config, half);
  assert.equal(s.phase, 'suspect');
  s = advance(s, { kind: 'probed', now: T0 + 8 * 3_600_000 + 500, alive: true }, config, half);
  assert.deepEqual(nextAction(s, T0 + 8 * 3_600_000 + 500), { kind: 'negotiate', route: 'ephemeral', attempt: 0 });
});

test('the clock jumps backwards: the rotation is rescheduled from the new time, not an hour-long gap later', () => {
  let s = protectedAt();
  s = advance(s, { kind: 'tick', now: T0 - 3_600_000, traffic: null }, config, half);
  assert.equal(s.phase, 'suspect');
  assert.equal(s.dueAt, T0 - 3_600_000 + 60_000);
});

test('a long relay outage: the parent key fails too, so stay on it and retry with backoff; a probe that answers ends it', () => {
  let s = protectedAt();
  s = advance(s, { kind: 'probed', now: T0 + 1000, alive: false }, config, half);
  s = advance(s, { kind: 'fell-back', now: T0 + 2000, working: false, message: 'no handshake' }, config, half);
  assert.equal(s.phase, 'outage');
  assert.equal(s.onEphemeral, false, 'stays on the parent key, never the broken ephemeral');
  assert.deepEqual(nextAction(s, T0 + 2500), { kind: 'wait', untilMs: T0 + 3000 });
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(nextAction(s, s.dueAt), { kind: 'probe' });
    s = advance(s, { kind: 'probed', now: s.dueAt, alive: false }, config, half);
  }
  assert.equal(s.phase, 'outage');
  assert.equal(s.dueAt - s.seenAt, 60_000, 'backoff capped at 60 s');
  s = advance(s, { kind: 'probed', now: s.dueAt, alive: true }, config, half);
  assert.equal(s.phase, 'unprotected');
  assert.equal(nextAction(s, s.seenAt).kind, 'negotiate');
  s = advance(s, { kind: 'negotiated', now: s.seenAt + 1000 }, config, half);
  assert.equal(s.recoveries, 1);
});

test('a rotation whose exchange timed out on a live ephemeral: probe first (a relay restart is not a dead tunnel)', () => {
  let s = protectedAt();
  s = advance(s, { kind: 'negotiate-failed', now: T0 + 60_000, code: 'RPC_FAILURE', message: 'UNAVAILABLE', working: true }, config, half);
  assert.equal(s.phase, 'suspect');
  s = advance(s, { kind: 'probed', now: T0 + 60_500, alive: true }, config, half);
  assert.equal(s.phase, 'protected');
  assert.equal(s.dueAt, T0 + 61_000, 'retry on the backoff');
});

test('a rollback that did not verify: on an ephemeral key, go to the parent; on the parent key, an outage', () => {
  const broken = (now: number): WatchInput => ({ kind: 'negotiate-failed', now, code: 'VERIFY_FAILED', message: 'rollback failed', working: false });
  assert.equal(advance(protectedAt(), broken(T0 + 1000), config, half).phase, 'dead');
  assert.equal(advance(initialState(T0, false), broken(T0 + 1000), config, half).phase, 'outage');
});

test('started on a key the relay forgot (restart after a crash): the failed first exchange leads to a probe, then the parent key', () => {
  let s = initialState(T0, true);
  s = advance(s, { kind: 'negotiate-failed', now: T0 + 8000, code: 'TIMEOUT', message: 'timed out', working: true }, config, half);
  assert.deepEqual(nextAction(s, T0 + 8000), { kind: 'probe' });
  s = advance(s, { kind: 'probed', now: T0 + 10_000, alive: false }, config, half);
  assert.deepEqual(nextAction(s, T0 + 10_000), { kind: 'fall-back' });
});

test('policy flags are checked with labelled errors', () => {
  assert.throws(() => checkPolicy({ ...config, rotateMs: 10 }), /--rotate: expected a duration of at least 1s, or off/);
  assert.throws(() => checkPolicy({ ...config, jitter: 1 }), /jitter/);
  assert.equal(checkPolicy({ ...config, rotateMs: null }).rotateMs, null);
});
