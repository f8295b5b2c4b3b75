/**
 * The planner of a new registration: which earlier ephemerals of the parent it replaces
 * and what the book records. Pure; the relay adds the new peer with its PSK itself.
 */
import { PqpskError } from '../errors.js';
import { deniedError } from './authenticate.js';
import { NEVER, classifyEphemeral } from './ephemeral-state.js';
import { lentAddresses } from './family.js';
import { asIndex, type PeerIndex } from './peer-index.js';
import type { ParentRecord, PeerEvent, Plan, RelayBook } from './relay-book.js';
import type { WgPeerChange, WgPeerRoute } from './wg-peer.js';

/**
 * Plan a new registration for an authenticated `parent`. The new ephemeral starts
 * pending (no allowed-ips). Earlier ephemerals of the parent that hold nothing are
 * replaced at once; a live one stays until the new one handshakes. An ephemeral the
 * operator has taken over (foreign) is left alone. The returned changes remove the
 * replaced peers; adding the new peer (with its PSK) is the caller's, in the same `wg set`.
 */
export function planRegistration(
  book: RelayBook,
  view: PeerIndex | readonly WgPeerRoute[],
  parent: string,
  ephemeral: string,
  nowMs: number,
): Plan {
  const index = asIndex(view);
  const parentPeer = index.get(parent);
  if (parentPeer === undefined) throw deniedError();
  if (index.has(ephemeral) || book.ephemerals.some((e) => e.ephemeral === ephemeral)) {
    throw new PqpskError('INVALID_INPUT', 'wg_ephemeral_peer_pubkey: already a peer of this relay');
  }
  const old = book.parents.find((p) => p.parent === parent);
  const given = new Set(old?.allowedIps ?? []);
  const mine = book.ephemerals.filter((e) => e.parent === parent);
  const states = new Map(mine.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, nowMs, NEVER)]));
  const replaced = mine.filter((e) => states.get(e.ephemeral) === 'pending' || states.get(e.ephemeral) === 'standby');
  const dropped = new Set(mine.filter((e) => states.get(e.ephemeral) !== 'live').map((e) => e.ephemeral));
  const record: ParentRecord = { parent, allowedIps: [...lentAddresses(mine, index, states)] };
  const parents = [...book.parents.filter((p) => p.parent !== parent), record];
  const ephemerals = [...book.ephemerals.filter((e) => !dropped.has(e.ephemeral)), { ephemeral, parent, registeredAt: nowMs }];
  const events: PeerEvent[] = replaced.map((e) => ({ kind: 'replaced', parent, ephemeral: e.ephemeral }));
  for (const e of mine) {
    const state = states.get(e.ephemeral);
    if (state === 'foreign' || state === 'vanished') events.push({ kind: state === 'foreign' ? 'released' : 'vanished', parent, ephemeral: e.ephemeral });
  }
  return {
    book: { parents, ephemerals },
    changes: replaced.length === 0 ? [] : [replaced.map((e): WgPeerChange => ({ publicKey: e.ephemeral, remove: true }))],
    events,
  };
}
