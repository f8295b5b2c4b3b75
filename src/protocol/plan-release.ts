/**
 * The planner of a relay's stop or release: every family's addresses back to its parent,
 * every ephemeral still the relay's removed. Pure.
 */
import { NEVER, classifyEphemeral } from './ephemeral-state.js';
import { familyAddresses, indexEphemerals, parentOverruled, sameSet, sortOps } from './family.js';
import { asIndex, type PeerIndex } from './peer-index.js';
import { EMPTY_BOOK, type PeerEvent, type Plan, type RelayBook } from './relay-book.js';
import type { WgPeerChange, WgPeerRoute } from './wg-peer.js';

/**
 * Everything back to the parents, for a relay that stops or is decommissioned: after it
 * nothing moves addresses, so a parent left at none would stay unreachable. Each parent
 * on the interface gets its family's addresses (as `planTick` counts them: its own, what
 * the relay's ephemerals hold, and recorded ones nobody holds when their holder went)
 * and every ephemeral still the relay's is removed; an operator's (foreign) one is
 * forgotten, and a parent the operator set while its ephemeral held the family's keeps
 * exactly what they gave it. The book comes out empty: the next start has nothing to
 * reconcile.
 *
 * Why removed rather than kept without addresses: a kept ephemeral would be a handshaken
 * key holding nothing, the shape the next start cannot tell from an operator's peer, so it
 * would be forgotten and stay on the interface for good, its PSK with it. The price is
 * paid by clients on ephemeral keys: from the stop their tunnel carries nothing until
 * they go back to the parent key (a watcher does so when it sees the tunnel dead, a
 * one-shot run on its next try, `wg-quick down/up` at once) and negotiate again once the
 * relay is back — while a client on its parent key, or going back to it, has its
 * traffic throughout.
 */
export function planRelease(book: RelayBook, view: PeerIndex | readonly WgPeerRoute[]): Plan {
  const index = asIndex(view);
  const changes: WgPeerChange[][] = [];
  const events: PeerEvent[] = [];
  const ephemeralsOf = indexEphemerals(book);
  for (const record of book.parents) {
    const parent = record.parent;
    const own = ephemeralsOf.get(parent) ?? [];
    const given = new Set(record.allowedIps);
    const states = new Map(own.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, 0, NEVER)]));
    const ops: WgPeerChange[] = [];
    let holderVanished = false;
    for (const e of own) {
      const state = states.get(e.ephemeral)!;
      if (state === 'vanished' || state === 'foreign') {
        holderVanished = true;
        if (state === 'foreign') events.push({ kind: 'released', parent, ephemeral: e.ephemeral });
        continue;
      }
      ops.push({ publicKey: e.ephemeral, remove: true });
      events.push({ kind: 'given-back', parent, ephemeral: e.ephemeral });
    }
    const parentPeer = index.get(parent);
    if (parentPeer !== undefined) {
      const overruled = parentOverruled(parentPeer, own, index, states);
      const family = overruled ? [...parentPeer.allowedIps] : familyAddresses(parentPeer, own, index, states, record, holderVanished);
      if (family.length > 0 && !sameSet(parentPeer.allowedIps, family)) ops.unshift({ publicKey: parent, allowedIps: family });
    }
    if (ops.length > 0) changes.push(sortOps(ops));
  }
  return { book: EMPTY_BOOK, changes, events };
}
