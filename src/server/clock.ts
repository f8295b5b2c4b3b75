/**
 * The relay's one clock: wall-clock time (handshake times are wall-clock seconds) and
 * timers. Everything that decides by time — expiry, rate limits, polling — asks this,
 * so a test can drive the relay with a virtual clock and never sleep.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Call `fn` once after `ms`; the returned function cancels it. Never keeps the process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Real time and real timers (unref'd: a pending poll never holds the process open). */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer(fn: () => void, ms: number): () => void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
});

/** A bare time source (older callers pass `() => ms`) gets real timers beside it. */
export function asClock(clock: Clock | (() => number) | undefined): Clock {
  if (clock === undefined) return SYSTEM_CLOCK;
  if (typeof clock === 'function') return { now: clock, setTimer: SYSTEM_CLOCK.setTimer };
  return clock;
}
