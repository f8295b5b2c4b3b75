/**
 * The relay's rules for ephemeral peers, as pure functions over a *book* (what pqpsk
 * registered: public keys and the parents' own allowed-ips, never a secret) and a view
 * of the interface's peers. The server persists the book, reads `wg`, asks these
 * functions what to do, and carries the answer out in one `wg set` per parent.
 *
 * The protocol's rule: of a parent and its ephemeral peers only one is *live* — the one
 * holding the parent's allowed-ips — and a handshake from one makes it the live one.
 * Registrations are made before broken: a live ephemeral (the client is negotiating again
 * through it) stays until the new one handshakes.
 */
import { PqpskError } from '../errors.js';
import { routeOwner } from './cidr.js';

/** What the rules need to know of one WireGuard peer on the relay's interface. */
export interface RelayPeerView {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  /** Unix seconds; 0 = never. */
  readonly latestHandshake: number;
}

export interface EphemeralRecord {
  readonly ephemeral: string;
  readonly parent: string;
  /** Unix milliseconds. */
  readonly registeredAt: number;
}

export interface ParentRecord {
  readonly parent: string;
  /** The parent's own allowed-ips, remembered while an ephemeral peer holds them. */
  readonly allowedIps: readonly string[];
}

/** Everything the relay must remember across restarts. Public keys only: safe to persist. */
export interface RelayBook {
  readonly parents: readonly ParentRecord[];
  readonly ephemerals: readonly EphemeralRecord[];
}

export const EMPTY_BOOK: RelayBook = Object.freeze({ parents: [], ephemerals: [] });

/** One peer change of a `wg set` (a subset of src/wg's WgPeerChange, same shape). */
export interface PeerOp {
  readonly publicKey: string;
  readonly allowedIps?: readonly string[];
  readonly remove?: true;
}

export type PeerEventKind =
  /** A pending ephemeral handshook and took the parent's allowed-ips. */
  | 'swap'
  /** The parent handshook again and took its allowed-ips back. */
  | 'swap-back'
  /** Never handshook within the pending timeout. */
  | 'expired-pending'
  /** No handshake for longer than the idle TTL. */
  | 'expired-idle'
  /** Replaced at once by a newer registration before it ever became live. */
  | 'replaced'
  /** The live ephemeral was superseded by a newer one that handshook. */
  | 'superseded'
  /** The parent peer was removed from the interface: its ephemerals go with it. */
  | 'parent-gone'
  /** Removed from the interface by someone else. */
  | 'vanished'
  /** Found at start-up not holding the parent's allowed-ips. */
  | 'recovered';

export interface PeerEvent {
  readonly kind: PeerEventKind;
  readonly parent: string;
  readonly ephemeral: string;
}

/** The outcome of a decision: the new book, the `wg set` changes per parent, and what happened. */
export interface Plan {
  readonly book: RelayBook;
  /** One group per parent; each group is applied as one `wg set`. */
  readonly changes: readonly (readonly PeerOp[])[];
  readonly events: readonly PeerEvent[];
}

export interface Timeouts {
  /** An ephemeral that never handshakes is removed after this long (120 s). */
  readonly pendingMs: number;
  /** A handshook ephemeral idle (no handshake) for this long is removed. */
  readonly idleMs: number;
}

const DENIED = (): PqpskError => new PqpskError('PERMISSION_DENIED', 'parent key does not match the tunnel of the request');

function indexPeers(peers: readonly RelayPeerView[]): Map<string, RelayPeerView> {
  return new Map(peers.map((p) => [p.publicKey, p]));
}

/** Each allowed-ip on the interface → the peer holding it, built once per decision. */
function indexOwners(peers: readonly RelayPeerView[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const peer of peers) for (const ip of peer.allowedIps) owners.set(ip, peer.publicKey);
  return owners;
}

/** Ephemeral records grouped by parent, built once per decision (keeps a pass linear). */
function indexEphemerals(book: RelayBook): Map<string, EphemeralRecord[]> {
  const byParent = new Map<string, EphemeralRecord[]>();
  for (const e of book.ephemerals) {
    const list = byParent.get(e.parent);
    if (list === undefined) byParent.set(e.parent, [e]);
    else list.push(e);
  }
  return byParent;
}

/** Who holds a parent's allowed-ips right now: the owner of its first recorded address. */
function holderOf(record: ParentRecord, owners: ReadonlyMap<string, string>): string | null {
  const first = record.allowedIps[0];
  return first === undefined ? null : (owners.get(first) ?? null);
}

/**
 * Authenticate a request: the parent is the key of the tunnel it travels in, so `sourceIp`
 * must be routed (longest prefix) to the claimed parent or to a live ephemeral of it.
 * The claim may name a live ephemeral (a client negotiating again from its ephemeral key
 * sends that key); it resolves to its normal parent. Returns the normal parent's key.
 * Unknown and wrong parents fail alike.
 */
export function authenticate(book: RelayBook, peers: readonly RelayPeerView[], claimedParent: string, sourceIp: string): string {
  const tunnel = routeOwner(peers, sourceIp);
  if (tunnel === null) throw DENIED();
  const claimedEphemeral = book.ephemerals.find((e) => e.ephemeral === claimedParent);
  const parent = claimedEphemeral?.parent ?? claimedParent;
  if (!indexPeers(peers).has(parent)) throw DENIED();
  if (claimedEphemeral !== undefined && tunnel !== claimedParent) throw DENIED();
  if (tunnel === parent) return parent;
  const liveEphemeral = book.ephemerals.some((e) => e.parent === parent && e.ephemeral === tunnel);
  if (!liveEphemeral) throw DENIED();
  return parent;
}

/**
 * Plan a new registration for an authenticated `parent`. The new ephemeral starts
 * pending (no allowed-ips). Earlier ephemerals of the parent that do not hold its
 * allowed-ips are replaced at once; a live one stays until the new one handshakes.
 * The returned changes remove the replaced peers; adding the new peer (with its PSK) is
 * the caller's, in the same `wg set`.
 */
export function planRegistration(book: RelayBook, peers: readonly RelayPeerView[], parent: string, ephemeral: string, nowMs: number): Plan {
  const byKey = indexPeers(peers);
  const parentPeer = byKey.get(parent);
  if (parentPeer === undefined) throw DENIED();
  if (byKey.has(ephemeral) || book.ephemerals.some((e) => e.ephemeral === ephemeral)) {
    throw new PqpskError('INVALID_INPUT', 'wg_ephemeral_peer_pubkey: already a peer of this relay');
  }
  let record = book.parents.find((p) => p.parent === parent);
  const parents = [...book.parents];
  if (record === undefined) {
    record = { parent, allowedIps: [...parentPeer.allowedIps] };
    parents.push(record);
  }
  const holder = holderOf(record, indexOwners(peers));
  const replaced = book.ephemerals.filter((e) => e.parent === parent && e.ephemeral !== holder);
  const ephemerals = [
    ...book.ephemerals.filter((e) => !replaced.includes(e)),
    { ephemeral, parent, registeredAt: nowMs },
  ];
  return {
    book: { parents, ephemerals },
    changes: replaced.length === 0 ? [] : [replaced.map((e): PeerOp => ({ publicKey: e.ephemeral, remove: true }))],
    events: replaced.map((e) => ({ kind: 'replaced', parent, ephemeral: e.ephemeral })),
  };
}

/**
 * The periodic decision, run after each read of latest handshakes: move a parent's
 * allowed-ips to whichever of parent and ephemerals handshook last (ties go to the newest
 * registration: a client switches forward, not back, within one second), remove what is
 * superseded, expired, vanished or orphaned, and give allowed-ips back to the parent
 * whenever the ephemeral holding them goes.
 */
export function planTick(book: RelayBook, peers: readonly RelayPeerView[], nowMs: number, timeouts: Timeouts): Plan {
  const byKey = indexPeers(peers);
  const changes: PeerOp[][] = [];
  const events: PeerEvent[] = [];
  const keptParents: ParentRecord[] = [];
  const keptEphemerals: EphemeralRecord[] = [];
  const owners = indexOwners(peers);
  const ephemeralsOf = indexEphemerals(book);

  for (const record of book.parents) {
    const parent = record.parent;
    const own = [...(ephemeralsOf.get(parent) ?? [])].sort((a, b) => a.registeredAt - b.registeredAt);
    const ops: PeerOp[] = [];
    const parentPeer = byKey.get(parent);
    if (parentPeer === undefined) {
      for (const e of own) {
        if (byKey.has(e.ephemeral)) ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: 'parent-gone', parent, ephemeral: e.ephemeral });
      }
      if (ops.length > 0) changes.push(ops);
      continue;
    }

    const alive: EphemeralRecord[] = [];
    for (const e of own) {
      const peer = byKey.get(e.ephemeral);
      if (peer === undefined) {
        events.push({ kind: 'vanished', parent, ephemeral: e.ephemeral });
      } else if (peer.latestHandshake === 0 && nowMs - e.registeredAt > timeouts.pendingMs) {
        ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: 'expired-pending', parent, ephemeral: e.ephemeral });
      } else if (peer.latestHandshake > 0 && nowMs - peer.latestHandshake * 1000 > timeouts.idleMs) {
        ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: 'expired-idle', parent, ephemeral: e.ephemeral });
      } else {
        alive.push(e);
      }
    }

    // The live one: the latest handshake wins; on a tie the newest registration does.
    let live = parent;
    let liveHandshake = parentPeer.latestHandshake;
    for (const e of alive) {
      const handshake = byKey.get(e.ephemeral)?.latestHandshake ?? 0;
      if (handshake > 0 && handshake >= liveHandshake) {
        live = e.ephemeral;
        liveHandshake = handshake;
      }
    }

    // Keep the live one, and a pending registration made while it was live (the client
    // negotiated again and has not switched yet); everything else has been left behind.
    const liveSince = alive.find((e) => e.ephemeral === live)?.registeredAt ?? Number.NEGATIVE_INFINITY;
    const keep: EphemeralRecord[] = [];
    for (const e of alive) {
      const pending = (byKey.get(e.ephemeral)?.latestHandshake ?? 0) === 0;
      if (e.ephemeral === live || (pending && e.registeredAt > liveSince)) {
        keep.push(e);
      } else {
        ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: live === parent ? 'swap-back' : 'superseded', parent, ephemeral: e.ephemeral });
      }
    }
    const holder = holderOf(record, owners);
    if (live !== holder && record.allowedIps.length > 0) {
      ops.unshift({ publicKey: live, allowedIps: record.allowedIps });
      if (live !== parent) events.push({ kind: 'swap', parent, ephemeral: live });
    }
    if (ops.length > 0) changes.push(sortOps(ops));
    if (keep.length > 0) {
      keptParents.push(record);
      keptEphemerals.push(...keep);
    }
  }
  return { book: { parents: keptParents, ephemerals: keptEphemerals }, changes, events };
}

/** Allowed-ips first (the new holder takes them), removals after: never a gap with no route. */
function sortOps(ops: PeerOp[]): PeerOp[] {
  return [...ops.filter((o) => o.remove !== true), ...ops.filter((o) => o.remove === true)];
}

/**
 * Start-up reconciliation after a crash or restart: an ephemeral that holds its parent's
 * allowed-ips is live (a client is using it) and stays; every other recorded ephemeral
 * is removed; a parent whose addresses are on nobody gets them back.
 */
export function planRecovery(book: RelayBook, peers: readonly RelayPeerView[], nowMs: number): Plan {
  const byKey = indexPeers(peers);
  const changes: PeerOp[][] = [];
  const events: PeerEvent[] = [];
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const owners = indexOwners(peers);
  const ephemeralsOf = indexEphemerals(book);
  for (const record of book.parents) {
    const holder = holderOf(record, owners);
    const own = ephemeralsOf.get(record.parent) ?? [];
    const ops: PeerOp[] = [];
    const parentPresent = byKey.has(record.parent);
    let keptLive = false;
    for (const e of own) {
      if (parentPresent && e.ephemeral === holder) {
        ephemerals.push({ ...e, registeredAt: Math.min(e.registeredAt, nowMs) });
        keptLive = true;
      } else if (byKey.has(e.ephemeral)) {
        ops.push({ publicKey: e.ephemeral, remove: true });
        events.push({ kind: parentPresent ? 'recovered' : 'parent-gone', parent: record.parent, ephemeral: e.ephemeral });
      }
    }
    if (parentPresent && holder !== record.parent && !keptLive) {
      ops.unshift({ publicKey: record.parent, allowedIps: record.allowedIps });
    }
    if (ops.length > 0) changes.push(sortOps(ops));
    if (keptLive) parents.push(record);
  }
  return { book: { parents, ephemerals }, changes, events };
}
