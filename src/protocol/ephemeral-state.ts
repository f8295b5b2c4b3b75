/**
 * The named states of an ephemeral peer and the one classifier that decides them: every
 * relay rule (authentication, the planners, the status summary) asks it, none decides alone.
 */
import type { EphemeralRecord, Timeouts } from './relay-book.js';
import type { WgPeerRoute } from './wg-peer.js';

/**
 * The named states of an ephemeral peer, decided by `classifyEphemeral` alone:
 * - pending: on the interface, never handshook, within the pending timeout;
 * - live: holds the family's addresses (the client's traffic flows through it);
 * - standby: handshook but holds nothing (about to take over, or left behind);
 * - expired-pending / expired-idle: due for removal;
 * - vanished: no longer on the interface;
 * - foreign: holds an address the relay never gave it — the operator's peer now.
 */
export type EphemeralState = 'pending' | 'live' | 'standby' | 'expired-pending' | 'expired-idle' | 'vanished' | 'foreign';

/**
 * The one classifier of an ephemeral peer. `given` is what the relay may have moved onto
 * its family's ephemerals (the parent record's addresses); `peer` is its line on the
 * interface (undefined when absent).
 */
export function classifyEphemeral(
  record: EphemeralRecord,
  peer: WgPeerRoute | undefined,
  given: Pick<ReadonlySet<string>, 'has'>,
  nowMs: number,
  timeouts: Timeouts,
): EphemeralState {
  if (peer === undefined) return 'vanished';
  if (peer.allowedIps.some((ip) => !given.has(ip))) return 'foreign';
  const holds = peer.allowedIps.length > 0;
  if (peer.latestHandshake === 0) {
    if (nowMs - record.registeredAt > timeouts.pendingMs) return 'expired-pending';
    return holds ? 'live' : 'pending';
  }
  if (nowMs - peer.latestHandshake * 1000 > timeouts.idleMs) return 'expired-idle';
  return holds ? 'live' : 'standby';
}

/**
 * The time up to which (inclusive) `classifyEphemeral` gives this record on this peer the
 * state it gives now, if neither changes: an expiry is the only change time makes.
 * +∞ when time alone changes nothing any more.
 */
export function stateHoldsUntil(record: EphemeralRecord, peer: WgPeerRoute | undefined, nowMs: number, timeouts: Timeouts): number {
  if (peer === undefined) return Number.POSITIVE_INFINITY;
  const expiry = peer.latestHandshake === 0 ? record.registeredAt + timeouts.pendingMs : peer.latestHandshake * 1000 + timeouts.idleMs;
  return expiry >= nowMs ? expiry : Number.POSITIVE_INFINITY;
}

/** Timeouts that never expire anything: for classifications that only ask "live or not". */
export const NEVER: Timeouts = Object.freeze({ pendingMs: Number.POSITIVE_INFINITY, idleMs: Number.POSITIVE_INFINITY });
