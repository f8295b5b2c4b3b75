/**
 * What a family (a parent and its ephemerals) holds, as the planners count it: the
 * family's addresses, what the relay has lent, whether the operator overruled it, and
 * the order a group of changes must run in. Helpers shared by the planners only.
 */
import type { EphemeralState } from './ephemeral-state.js';
import type { PeerIndex } from './peer-index.js';
import type { EphemeralRecord, ParentRecord, RelayBook } from './relay-book.js';
import type { WgPeerChange, WgPeerRoute } from './wg-peer.js';

/** Ephemeral records grouped by parent, built once per decision (keeps a tick linear). */
export function indexEphemerals(book: RelayBook): Map<string, EphemeralRecord[]> {
  const byParent = new Map<string, EphemeralRecord[]>();
  for (const e of book.ephemerals) {
    const list = byParent.get(e.parent);
    if (list === undefined) byParent.set(e.parent, [e]);
    else list.push(e);
  }
  return byParent;
}

/**
 * The family's addresses as the interface shows them: the parent's own, plus those on
 * its ephemerals that are still the relay's (never a foreign one's). Recorded addresses
 * held by nobody come back only when a member that may have held them vanished or was
 * taken over by the operator, and the parent holds nothing — an address the operator
 * removed stays removed.
 */
export function familyAddresses(
  parentPeer: WgPeerRoute,
  own: readonly EphemeralRecord[],
  index: PeerIndex,
  states: ReadonlyMap<string, EphemeralState>,
  record: ParentRecord | undefined,
  holderVanished: boolean,
): string[] {
  const family = new Set([...parentPeer.allowedIps, ...lentAddresses(own, index, states)]);
  // Only when the parent holds nothing: a parent with addresses of its own is the
  // operator's to manage, and what they dropped from it stays dropped.
  if (holderVanished && record !== undefined && parentPeer.allowedIps.length === 0) {
    for (const ip of record.allowedIps) if (index.holderOf(ip) === null) family.add(ip);
  }
  return [...family];
}

/** What the family's ephemerals that are still the relay's hold now: what it has lent them. */
export function lentAddresses(own: readonly EphemeralRecord[], index: PeerIndex, states: ReadonlyMap<string, EphemeralState>): Set<string> {
  const lent = new Set<string>();
  for (const e of own) {
    const state = states.get(e.ephemeral);
    if (state === 'foreign' || state === 'vanished') continue;
    for (const ip of index.get(e.ephemeral)?.allowedIps ?? []) lent.add(ip);
  }
  return lent;
}

/** Whether the peer holds any address. */
export function holdsAny(index: PeerIndex, key: string): boolean {
  return (index.get(key)?.allowedIps.length ?? 0) > 0;
}

/**
 * Whether the operator set the parent's allowed-ips while the family's addresses were on
 * one of its ephemerals: the relay's own moves never leave both holding (one `wg set`
 * gives the live member everything), so the parent's list is the operator's new one, and
 * what the ephemeral holds is what they took away. The parent must not get it back.
 */
export function parentOverruled(parentPeer: WgPeerRoute, own: readonly EphemeralRecord[], index: PeerIndex, states: ReadonlyMap<string, EphemeralState>): boolean {
  if (parentPeer.allowedIps.length === 0) return false;
  return own.some((e) => {
    const state = states.get(e.ephemeral);
    return state !== 'foreign' && state !== 'vanished' && holdsAny(index, e.ephemeral);
  });
}

/** The same entries, in any order (each list free of repeats, as `wg` prints them). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/** Allowed-ips first (the new holder takes them), removals after: never a gap with no route. */
export function sortOps(ops: WgPeerChange[]): WgPeerChange[] {
  return [...ops.filter((o) => o.remove !== true), ...ops.filter((o) => o.remove === true)];
}
