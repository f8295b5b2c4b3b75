/**
 * Admission control: a global cap on registrations in flight and a
 * token bucket per parent key. Both refuse at once with RESOURCE_EXHAUSTED instead of
 * queueing, so a flood costs the relay a refusal, not a growing queue of HQC work.
 */
import { PqpskError } from '../errors.js';

/** Counts requests in flight; `tryEnter` fails once `max` are running. */
export class InflightGate {
  #count = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new PqpskError('INVALID_INPUT', `max in-flight: expected a whole number ≥ 1, got ${String(max)}`);
    }
  }

  get count(): number {
    return this.#count;
  }

  /** Take a slot or throw RESOURCE_EXHAUSTED; the caller must `leave()` exactly once after success. */
  enter(): void {
    if (this.#count >= this.max) {
      throw new PqpskError('RESOURCE_EXHAUSTED', 'relay is busy: too many registrations in flight, retry shortly');
    }
    this.#count++;
  }

  leave(): void {
    if (this.#count > 0) this.#count--;
  }
}

export interface RateLimit {
  /** Registrations a parent may make back to back. */
  readonly burst: number;
  /** Tokens regained per second after the burst. */
  readonly perSecond: number;
}

/**
 * Generous enough for a client that retries a failed negotiation a few times, tight
 * enough that one client cannot keep the HQC workers to itself.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ burst: 6, perSecond: 0.2 });

/**
 * The budget of refused requests per source address: each refusal (bad request, wrong
 * parent, rate limit) costs a token, and a source with none left is refused before its
 * request is even looked at. A client that gets one refusal now and then never notices;
 * a flood is turned away at the price of a map lookup.
 */
export const DEFAULT_REFUSAL_BUDGET: RateLimit = Object.freeze({ burst: 20, perSecond: 2 });

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by parent public key. Memory stays bounded: buckets that have
 * refilled completely carry no information and are dropped when the table grows.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
      throw new PqpskError('INVALID_INPUT', 'rate limit: burst must be ≥ 1 and the refill rate > 0');
    }
  }

  /** Spend one token of `key`, or throw RESOURCE_EXHAUSTED naming when to retry. */
  take(key: string): void {
    const now = this.now();
    const bucket = this.#refilled(key, now);
    if (bucket.tokens < 1) {
      const waitS = Math.ceil((1 - bucket.tokens) / this.limit.perSecond);
      throw new PqpskError('RESOURCE_EXHAUSTED', `too many registrations for this parent key, retry in ${waitS}s`);
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.maxKeys) this.#prune(now);
  }

  /** Whether `key` has `tokens` (default one whole token) left, without spending any. */
  allows(key: string, tokens = 1): boolean {
    const old = this.#buckets.get(key);
    return old === undefined || this.#refilled(key, this.now()).tokens >= Math.min(tokens, this.limit.burst);
  }

  /** Spend one token of `key` if it has one; never throws (charging a refused request). */
  charge(key: string): void {
    const now = this.now();
    const bucket = this.#refilled(key, now);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.maxKeys) this.#prune(now);
  }

  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, now: number): Bucket {
    const old = this.#buckets.get(key);
    if (old === undefined) return { tokens: this.limit.burst, at: now };
    const elapsedS = Math.max(0, now - old.at) / 1000;
    return { tokens: Math.min(this.limit.burst, old.tokens + elapsedS * this.limit.perSecond), at: now };
  }

  #prune(now: number): void {
    for (const key of [...this.#buckets.keys()]) {
      if (this.#refilled(key, now).tokens >= this.limit.burst) this.#buckets.delete(key);
    }
    // Still too many: forget the oldest (insertion order) — a bounded table beats a leak.
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= this.maxKeys) break;
      this.#buckets.delete(key);
    }
  }
}
