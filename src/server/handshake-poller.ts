/**
 * The poller, apart from the request pipeline: it runs the relay's watcher pass on the
 * injected clock — in a burst right after a registration while its ephemeral is pending
 * (the client switches within moments of the answer and its traffic waits on this pass
 * to move its addresses), fast while a registration is pending or fresh, slow otherwise —
 * and logs a failing pass once per kind of failure, not every 250 ms.
 */
import type { Clock } from './clock.js';
import { describeError, type Logger } from './log.js';

/** How often the watcher reads latest handshakes. */
export interface PollIntervals {
  /** While a registration is pending or fresh: ≤ 250 ms, so traffic resumes within 1 s. */
  readonly fastMs: number;
  /** Otherwise. */
  readonly idleMs: number;
  /** A registration counts as fresh for this long after it was made. */
  readonly freshMs: number;
  /**
   * For `burstForMs` after a registration, while an ephemeral is pending: this often, and
   * never more often than a pass lasts (a large interface's pass is long, so the burst
   * then costs at most half the time). Its client's traffic and verification wait on the
   * pass that sees its handshake. Unset: no burst.
   */
  readonly burstMs?: number;
  readonly burstForMs?: number;
}

export const DEFAULT_POLL: PollIntervals = Object.freeze({ fastMs: 250, idleMs: 2000, freshMs: 10_000, burstMs: 15, burstForMs: 2000 });

export interface WatchTarget {
  /** One pass. */
  tick(): Promise<unknown>;
  /** Whether the next pass should come soon (a registration is pending or fresh). */
  wantsFastPoll(): boolean;
  /** Whether an ephemeral waits for its first handshake (a burst goes on only while one does). */
  anyPending?(): boolean;
}

export class HandshakePoller {
  readonly #clock: Clock;
  readonly #poll: PollIntervals;
  readonly #target: WatchTarget;
  readonly #logger: Logger;
  readonly #iface: string;
  #running = false;
  #cancel: (() => void) | undefined;
  #due = 0;
  #lastError: string | undefined;
  /** The end of the burst the last registration started (clock time). */
  #burstUntil = Number.NEGATIVE_INFINITY;

  constructor(target: WatchTarget, clock: Clock, poll: PollIntervals, logger: Logger, iface: string) {
    this.#target = target;
    this.#clock = clock;
    this.#poll = poll;
    this.#logger = logger;
    this.#iface = iface;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** A registration just happened: poll in a burst (or fast) now rather than after a longer sleep. */
  wake(): void {
    const now = this.#clock.now();
    const { burstMs, burstForMs } = this.#poll;
    if (burstMs !== undefined && burstForMs !== undefined) this.#burstUntil = now + burstForMs;
    const soon = burstMs ?? this.#poll.fastMs;
    if (this.#running && this.#cancel !== undefined && this.#due - now > soon) this.#schedule(soon);
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#cancel?.();
    this.#due = this.#clock.now() + delayMs;
    this.#cancel = this.#clock.setTimer(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    this.#cancel = undefined;
    if (!this.#running) return;
    const began = this.#clock.now();
    try {
      await this.#target.tick();
      if (this.#lastError !== undefined) {
        this.#logger.log('info', { event: 'watcher-recovered', iface: this.#iface });
        this.#lastError = undefined;
      }
    } catch (err) {
      const { code, message } = describeError(err);
      if (this.#lastError !== message) this.#logger.log('error', { event: 'watcher-failed', iface: this.#iface, error_code: code, error: message });
      this.#lastError = message;
    }
    if (this.#running && this.#cancel === undefined) this.#schedule(this.#nextDelay(this.#clock.now() - began));
  }

  /** The sleep before the next pass, given how long this one took. */
  #nextDelay(passMs: number): number {
    const { burstMs } = this.#poll;
    const bursting = burstMs !== undefined && this.#clock.now() < this.#burstUntil && (this.#target.anyPending?.() ?? true);
    if (bursting) return Math.max(burstMs, passMs);
    return this.#target.wantsFastPoll() ? this.#poll.fastMs : this.#poll.idleMs;
  }
}
