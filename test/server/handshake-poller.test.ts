/**
 * The relay's poller on a virtual clock: when its passes run after a registration, while
 * the registration's ephemeral waits for its handshake, and after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../src/server/clock.js';
import { DEFAULT_POLL, HandshakePoller, type PollIntervals } from '../../src/server/handshake-poller.js';
import { SILENT_LOGGER } from '../../src/server/log.js';

/** Timers that fire only when the test moves time on. */
class StepClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.#timers.push(timer);
    return () => (timer.live = false);
  }
  /** Move to `until`, firing each due timer in order and letting its pass finish. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      const next = this.#timers.filter((x) => x.live).sort((a, b) => a.at - b.at)[0];
      if (next === undefined || next.at > until) break;
      next.live = false;
      this.t = next.at;
      next.fn();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    }
    this.t = until;
  }
}

function world(poll: PollIntervals, passMs = 0) {
  const clock = new StepClock();
  const passes: number[] = [];
  const state = { pending: false, fresh: false };
  const poller = new HandshakePoller(
    {
      tick: async () => {
        passes.push(clock.t);
        clock.t += passMs;
      },
      wantsFastPoll: () => state.fresh,
      anyPending: () => state.pending,
    },
    clock,
    poll,
    SILENT_LOGGER,
    'wg0',
  );
  /** What a registration does: its ephemeral is pending and fresh, and the poller is woken. */
  const register = (): void => {
    state.pending = true;
    state.fresh = true;
    poller.wake();
  };
  return { clock, passes, state, poller, register };
}

test('right after a registration the relay looks every 15 ms while its ephemeral is pending, for 2 s at most, then every 250 ms', async () => {
  const { clock, passes, poller, register } = world(DEFAULT_POLL);
  const t0 = clock.t;
  poller.start();
  await clock.runUntil(t0 + 100); // the first pass, then an idle sleep
  passes.length = 0;
  register();
  await clock.runUntil(t0 + 100 + 150);
  assert.deepEqual(
    passes.map((p) => p - t0 - 100),
    [15, 30, 45, 60, 75, 90, 105, 120, 135, 150],
  );
  passes.length = 0;
  await clock.runUntil(t0 + 100 + 3000);
  const since = passes.map((p) => p - t0 - 100);
  const gaps = since.slice(1).map((p, i) => [since[i]!, p - since[i]!] as const);
  assert.ok(gaps.filter(([at]) => at < 2000).every(([, gap]) => gap === 15), 'every 15 ms until 2 s after the registration');
  assert.deepEqual(gaps.filter(([at]) => at >= 2010).map(([, gap]) => gap), [250, 250, 250], 'then every 250 ms, as before');
  poller.stop();
});

test('the burst ends as soon as no ephemeral is pending (its handshake was seen)', async () => {
  const { clock, passes, state, poller, register } = world(DEFAULT_POLL);
  const t0 = clock.t;
  poller.start();
  await clock.runUntil(t0 + 100);
  register();
  await clock.runUntil(t0 + 100 + 45);
  state.pending = false;
  passes.length = 0;
  await clock.runUntil(t0 + 100 + 1000);
  assert.deepEqual(passes.map((p) => p - t0 - 100), [60, 310, 560, 810]);
  poller.stop();
});

test('a burst never polls more often than a pass lasts', async () => {
  const { clock, passes, poller, register } = world(DEFAULT_POLL, 40);
  const t0 = clock.t;
  poller.start();
  await clock.runUntil(t0 + 100);
  passes.length = 0;
  register();
  await clock.runUntil(t0 + 100 + 400);
  const gaps = passes.slice(1).map((p, i) => p - passes[i]!);
  assert.ok(gaps.length >= 3);
  for (const g of gaps) assert.equal(g, 80, 'a 40 ms pass, then 40 ms of sleep');
  poller.stop();
});

test('without burst settings a registration polls at the fast interval, as before', async () => {
  const { clock, passes, poller, register } = world({ fastMs: 250, idleMs: 2000, freshMs: 10_000 });
  const t0 = clock.t;
  poller.start();
  await clock.runUntil(t0 + 100);
  passes.length = 0;
  register();
  await clock.runUntil(t0 + 100 + 600);
  assert.deepEqual(passes.map((p) => p - t0 - 100), [250, 500]);
  poller.stop();
});
