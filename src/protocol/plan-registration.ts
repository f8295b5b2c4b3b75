/**
 * The planner of a new registration: which earlier ephemerals of the parent it replaces
 * and what the book records. Pure; the relay adds the new peer with its PSK itself.
 */
import { asIndex, type PeerIndex } from './peer-index.js';
import { RegistrationPlanner } from './plan-registrations.js';
import type { Plan, RelayBook } from './relay-book.js';
import type { WgPeerRoute } from './wg-peer.js';

/**
 * Plan a new registration for an authenticated `parent`. The new ephemeral starts
 * pending (no allowed-ips). Earlier ephemerals of the parent that hold nothing are
 * replaced at once; a live one stays until the new one handshakes. An ephemeral the
 * operator has taken over (foreign) is left alone. The returned changes remove the
 * replaced peers; adding the new peer (with its PSK) is the caller's, in the same `wg set`.
 * (A batch of registrations plans on one RegistrationPlanner; this is a batch of one.)
 */
export function planRegistration(
  book: RelayBook,
  view: PeerIndex | readonly WgPeerRoute[],
  parent: string,
  ephemeral: string,
  nowMs: number,
): Plan {
  const planner = new RegistrationPlanner(book, asIndex(view), nowMs);
  const step = planner.add(parent, ephemeral);
  return { book: planner.book(), changes: step.removals.length === 0 ? [] : [step.removals], events: step.events };
}
