/**
 * The planner of a relay's start: reconcile a book that may be stale, damaged or edited
 * with what the interface shows. Pure.
 */
import { NEVER, classifyEphemeral } from './ephemeral-state.js';
import { familyAddresses, holdsAny, indexEphemerals, parentOverruled, sameSet, sortOps } from './family.js';
import { asIndex, type PeerIndex } from './peer-index.js';
import type { EphemeralRecord, ParentRecord, PeerEvent, Plan, RelayBook } from './relay-book.js';
import type { WgPeerChange, WgPeerRoute } from './wg-peer.js';

/**
 * Start-up reconciliation after a crash or restart. The book may be stale, damaged or
 * edited, so a record is acted on only where the interface agrees: an ephemeral that
 * holds its family's addresses is live (a client is using it) and stays, unless the
 * operator has since set the parent's own list; one that holds nothing and never
 * handshook is a registration that was never used and is removed; one that holds nothing
 * but has handshaken cannot be told from an operator's peer whose addresses went
 * elsewhere, and is forgotten, never removed. Addresses go back to a parent only from its
 * own ephemerals or from nobody — never from a peer outside the family, whatever the book says.
 */
export function planRecovery(book: RelayBook, view: PeerIndex | readonly WgPeerRoute[], nowMs: number): Plan {
  const index = asIndex(view);
  const changes: WgPeerChange[][] = [];
  const events: PeerEvent[] = [];
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const ephemeralsOf = indexEphemerals(book);
  for (const record of book.parents) {
    const own = ephemeralsOf.get(record.parent) ?? [];
    const given = new Set(record.allowedIps);
    const states = new Map(own.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, nowMs, NEVER)]));
    const parentPeer = index.get(record.parent);
    const overruled = parentPeer !== undefined && parentOverruled(parentPeer, own, index, states);
    const ops: WgPeerChange[] = [];
    let keptLive = false;
    let holderVanished = false;
    for (const e of own) {
      const state = states.get(e.ephemeral)!;
      if (state === 'vanished') {
        holderVanished = true;
      } else if (state === 'foreign' || state === 'standby') {
        holderVanished ||= state === 'foreign';
        events.push({ kind: 'released', parent: record.parent, ephemeral: e.ephemeral });
      } else if (parentPeer !== undefined && state === 'live' && !keptLive && !overruled) {
        ephemerals.push({ ...e, registeredAt: Math.min(e.registeredAt, nowMs) });
        keptLive = true;
      } else {
        ops.push({ publicKey: e.ephemeral, remove: true });
        const kind = parentPeer === undefined ? 'parent-gone' : overruled && holdsAny(index, e.ephemeral) ? 'overruled' : 'recovered';
        events.push({ kind, parent: record.parent, ephemeral: e.ephemeral });
      }
    }
    if (parentPeer !== undefined) {
      const family = overruled ? [...parentPeer.allowedIps] : familyAddresses(parentPeer, own, index, states, record, holderVanished);
      if (keptLive) {
        parents.push({ parent: record.parent, allowedIps: family });
      } else if (!sameSet(parentPeer.allowedIps, family)) {
        ops.unshift({ publicKey: record.parent, allowedIps: family });
      }
    }
    if (ops.length > 0) changes.push(sortOps(ops));
  }
  return { book: { parents, ephemerals }, changes, events };
}
