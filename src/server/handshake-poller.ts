/**
 * The poller, apart from the request pipeline: it runs the relay's watcher pass on the
 * injected clock — fast while a registration is pending or fresh (so a client's traffic
 * resumes within a second of its switch), slow otherwise — and logs a failing pass once
 * per kind of failure, not every 250 ms.
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
}

export const DEFAULT_POLL: PollIntervals = Object.freeze({ fastMs: 250, idleMs: 2000, freshMs: 10_000 });

export interface WatchTarget {
  /** One pass. */
  tick(): Promise<unknown>;
  /** Whether the next pass should come soon (a registration is pending or fresh). */
  wantsFastPoll(): boolean;
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

  /** A registration just happened: poll fast now rather than after an idle sleep. */
  wake(): void {
    if (this.#running && this.#cancel !== undefined && this.#due - this.#clock.now() > this.#poll.fastMs) {
      this.#schedule(this.#poll.fastMs);
    }
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
    if (this.#running && this.#cancel === undefined) this.#schedule(this.#target.wantsFastPoll() ? this.#poll.fastMs : this.#poll.idleMs);
  }
}
