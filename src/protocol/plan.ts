/**
 * The client's negotiation plan, as pure functions: how long each attempt may take and in
 * which order the hops of a multihop tunnel are negotiated.
 */
import { PqpskError } from '../errors.js';

/** Per-attempt timeouts of the published client: 8 s doubling, capped at 48 s. */
export const ATTEMPT_TIMEOUT_BASE_MS = 8_000;
export const ATTEMPT_TIMEOUT_CAP_MS = 48_000;

/**
 * Timeout of attempt `attempt` (0-based): min(48 s, 8 s × 2^attempt) → 8, 16, 32, 48, 48 …
 * `scale` shrinks the schedule for tests (a hidden CLI option); 1 in production.
 */
export function attemptTimeoutMs(attempt: number, scale = 1): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new PqpskError('INVALID_INPUT', `attempt: expected a whole number ≥ 0, got ${attempt}`);
  }
  if (!(scale > 0 && scale <= 1)) {
    throw new PqpskError('INVALID_INPUT', `timeout scale: expected a number in (0, 1], got ${scale}`);
  }
  const unscaled = Math.min(ATTEMPT_TIMEOUT_CAP_MS, ATTEMPT_TIMEOUT_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.max(1, Math.round(unscaled * scale));
}

export type HopRole = 'single' | 'entry' | 'exit';

/**
 * Multihop negotiates the exit first — its request travels inside both tunnels, and the
 * entry's tunnel must still carry the parent session while it does — then the entry.
 */
export function negotiationOrder<T extends { readonly role: HopRole }>(hops: readonly T[]): T[] {
  const rank: Record<HopRole, number> = { exit: 0, single: 1, entry: 2 };
  return [...hops].sort((a, b) => rank[a.role] - rank[b.role]);
}
