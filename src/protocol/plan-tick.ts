/**
 * The planner of one tick, run after each read of the interface: which member of each
 * family is live, what moves to it, and what expires or goes. Pure.
 */
import { handshakeTie, tieWinner, type HandshakeTie, type ReceivedSince } from './handshake-tie.js';
import { classifyEphemeral } from './ephemeral-state.js';
import { familyAddresses, holdsAny, indexEphemerals, parentOverruled, sameSet, sortOps } from './family.js';
import { asIndex, type PeerIndex } from './peer-index.js';
import type { EphemeralRecord, ParentRecord, PeerEvent, Plan, RelayBook, Timeouts } from './relay-book.js';
import type { WgPeerChange, WgPeerRoute } from './wg-peer.js';

/**
 * The periodic decision, run after each read of latest handshakes: move the family's
 * addresses to whichever of parent and ephemerals handshook last (ties go to the newest
 * registration: a client switches forward, not back, within one second), remove what is
 * superseded, expired or orphaned, forget what vanished or was taken over, and give the
 * addresses back to the parent whenever the ephemeral holding them goes. Members tied on
 * the whole second go to the one the client sends on (`received`: its bytes, or on the
 * kernel the frame errors ascribed to it, see handshake-tie.ts), when the evidence tells;
 * the plan lists the ties it found, so the caller knows to read it.
 */
export function planTick(book: RelayBook, view: PeerIndex | readonly WgPeerRoute[], nowMs: number, timeouts: Timeouts, received?: ReceivedSince): Plan {
  const index = asIndex(view);
  const changes: WgPeerChange[][] = [];
  const events: PeerEvent[] = [];
  const ties: HandshakeTie[] = [];
  const keptParents: ParentRecord[] = [];
  const keptEphemerals: EphemeralRecord[] = [];
  const ephemeralsOf = indexEphemerals(book);

  for (const record of book.parents) {
    const parent = record.parent;
    const own = [...(ephemeralsOf.get(parent) ?? [])].sort((a, b) => a.registeredAt - b.registeredAt);
    const given = new Set(record.allowedIps);
    const states = new Map(own.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, nowMs, timeouts)]));
    const ops: WgPeerChange[] = [];
    const parentPeer = index.get(parent);
    if (parentPeer === undefined) {
      for (const e of own) {
        const state = states.get(e.ephemeral);
        if (state === 'foreign') {
          events.push({ kind: 'released', parent, ephemeral: e.ephemeral });
          continue;
        }
        if (state !== 'vanished') ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: 'parent-gone', parent, ephemeral: e.ephemeral });
      }
      if (ops.length > 0) changes.push(ops);
      continue;
    }

    const alive: EphemeralRecord[] = [];
    let holderVanished = false;
    for (const e of own) {
      const state = states.get(e.ephemeral)!;
      if (state === 'vanished') {
        holderVanished = true;
        events.push({ kind: 'vanished', parent, ephemeral: e.ephemeral });
      } else if (state === 'foreign') {
        holderVanished = true;
        events.push({ kind: 'released', parent, ephemeral: e.ephemeral });
      } else if (state === 'expired-pending' || state === 'expired-idle') {
        ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: state, parent, ephemeral: e.ephemeral });
      } else {
        alive.push(e);
      }
    }
    const overruled = parentOverruled(parentPeer, own, index, states);
    const family = overruled ? [...parentPeer.allowedIps] : familyAddresses(parentPeer, own, index, states, record, holderVanished);

    // The live one: the latest handshake wins; on a tie the newest registration does. An
    // overruled parent is live: what the operator gave it stays where they put it.
    let live = parent;
    let liveHandshake = parentPeer.latestHandshake;
    for (const e of overruled ? [] : alive) {
      const handshake = index.get(e.ephemeral)?.latestHandshake ?? 0;
      if (handshake > 0 && handshake >= liveHandshake) {
        live = e.ephemeral;
        liveHandshake = handshake;
      }
    }
    const tie = overruled ? null : handshakeTie(parent, [parentPeer, ...alive.map((e) => index.get(e.ephemeral))]);
    if (tie !== null) {
      ties.push(tie);
      live = tieWinner(tie, received) ?? live;
    }

    // Keep the live one, and a pending registration made while it was live (the client
    // negotiated again and has not switched yet); everything else has been left behind.
    const liveSince = alive.find((e) => e.ephemeral === live)?.registeredAt ?? Number.NEGATIVE_INFINITY;
    const keep: EphemeralRecord[] = [];
    for (const e of alive) {
      if (e.ephemeral === live || (states.get(e.ephemeral) === 'pending' && e.registeredAt > liveSince)) {
        keep.push(e);
      } else {
        ops.push({ publicKey: e.ephemeral, remove: true });
        const kind = overruled && holdsAny(index, e.ephemeral) ? 'overruled' : live === parent ? 'swap-back' : 'superseded';
        events.push({ kind, parent, ephemeral: e.ephemeral });
      }
    }
    const livePeer = index.get(live);
    if (family.length > 0 && !sameSet(livePeer?.allowedIps ?? [], family)) {
      ops.unshift({ publicKey: live, allowedIps: family });
      if (live !== parent && (livePeer?.allowedIps.length ?? 0) === 0) events.push({ kind: 'swap', parent, ephemeral: live });
    }
    if (ops.length > 0) changes.push(sortOps(ops));
    if (keep.length > 0) {
      // What the relay lends the family's ephemerals: nothing while the parent holds it all.
      keptParents.push({ parent, allowedIps: live === parent ? [] : family });
      keptEphemerals.push(...keep);
    }
  }
  return { book: { parents: keptParents, ephemerals: keptEphemerals }, changes, events, ties };
}
