/**
 * The relay's log line for a connection closed because its request stalled, rate-limited:
 * an attacker who makes the relay close thousands of connections must not also fill the
 * log. Lines over the budget are counted and the count rides on the next line written.
 */
import type { StalledClose } from '../rpc/stalls.js';
import { RateLimiter, type RateLimit } from './limits.js';
import type { Logger } from './log.js';

/** Ten lines back to back, then one every six seconds (ten a minute). */
export const STALL_LOG_RATE: RateLimit = Object.freeze({ burst: 10, perSecond: 1 / 6 });

/** A listener for the gRPC listener's `onStalledClose` that writes `stalled-connection-closed` lines. */
export function stallLogger(logger: Logger, iface: string, rate: RateLimit = STALL_LOG_RATE, now: () => number = Date.now): (close: StalledClose) => void {
  const budget = new RateLimiter(rate, now, 1);
  let suppressed = 0;
  return (close) => {
    if (!budget.allows('log')) {
      suppressed++;
      return;
    }
    budget.charge('log');
    logger.log('warn', {
      event: 'stalled-connection-closed',
      iface,
      source: close.source,
      reason: close.reason,
      held_bytes: close.heldBytes,
      arriving_ms: close.arrivingMs,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
    suppressed = 0;
  };
}
