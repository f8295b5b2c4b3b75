/**
 * The relay's rules for ephemeral peers, as pure functions over a *book* (what pqpsk
 * registered: public keys and the addresses of each parent's family, never a secret)
 * and a view of the interface's peers. The server persists the book, reads `wg`, asks
 * these functions what to do, and carries the answer out in one `wg set`.
 *
 * A parent and its ephemeral peers form a *family*; the family's addresses are the
 * parent's allowed-ips plus whatever the relay moved onto its ephemerals. Only one
 * member holds them — the *live* one — and a handshake from another member makes it
 * the live one. Registrations are made before broken: a live ephemeral (the client is
 * negotiating again through it) stays until the new one handshakes.
 *
 * The operator is authoritative: the family's addresses are re-read from the interface
 * on every pass (an address the operator added stays, one they gave to someone else is
 * never taken back), and an ephemeral that holds an address the relay never gave it is
 * the operator's peer now: it is forgotten, never removed or rewired. A parent that holds
 * addresses while one of its ephemerals holds the family's has been set by the operator
 * (the relay never leaves both holding): it keeps exactly what they gave it, and the
 * ephemerals holding the old addresses go with those addresses.
 *
 * The book is a claim, not proof: after a restart the relay acts on a recorded ephemeral
 * only where the interface shows the shape of one it made — holding the family's
 * addresses, or holding nothing and never handshaken. A recorded key that holds nothing
 * but has handshaken may as well be an operator's peer whose addresses went elsewhere:
 * it is forgotten, never removed.
 */
import { PqpskError } from '../errors.js';
import { RouteIndex } from './cidr.js';
import { handshakeTie, tieWinner, type HandshakeTie, type ReceivedSince } from './handshake-tie.js';

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
  /**
   * The addresses the relay has lent to the family's ephemerals (the parent's, moved onto
   * the live one), as last seen; empty while the parent holds them itself. An ephemeral
   * holding anything else was given it by someone else, and only these may ever go back
   * to the parent.
   */
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
  /**
   * Holds addresses the relay never gave it (the operator's peer now), or, after a
   * restart, nothing to tell it from an operator's peer: forgotten and left alone.
   */
  | 'released'
  /** The operator set the parent's allowed-ips while this ephemeral held the family's: removed. */
  | 'overruled'
  /** Found at start-up not holding the parent's allowed-ips. */
  | 'recovered'
  /** Removed as the relay stopped or was released: its parent has the family's addresses back. */
  | 'given-back';

export interface PeerEvent {
  readonly kind: PeerEventKind;
  readonly parent: string;
  readonly ephemeral: string;
}

/** The outcome of a decision: the new book, the `wg set` changes per parent, and what happened. */
export interface Plan {
  readonly book: RelayBook;
  /** One group per parent; the relay may apply several groups in one `wg set`, in order. */
  readonly changes: readonly (readonly PeerOp[])[];
  readonly events: readonly PeerEvent[];
  /** planTick's only: families tied on the latest handshake second (see handshake-tie.ts). */
  readonly ties?: readonly HandshakeTie[];
}

export interface Timeouts {
  /** An ephemeral that never handshakes is removed after this long (120 s). */
  readonly pendingMs: number;
  /** A handshook ephemeral idle (no handshake) for this long is removed. */
  readonly idleMs: number;
}

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
  peer: RelayPeerView | undefined,
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
export function stateHoldsUntil(record: EphemeralRecord, peer: RelayPeerView | undefined, nowMs: number, timeouts: Timeouts): number {
  if (peer === undefined) return Number.POSITIVE_INFINITY;
  const expiry = peer.latestHandshake === 0 ? record.registeredAt + timeouts.pendingMs : peer.latestHandshake * 1000 + timeouts.idleMs;
  return expiry >= nowMs ? expiry : Number.POSITIVE_INFINITY;
}

/** Timeouts that never expire anything: for classifications that only ask "live or not". */
const NEVER: Timeouts = Object.freeze({ pendingMs: Number.POSITIVE_INFINITY, idleMs: Number.POSITIVE_INFINITY });

/**
 * Peers by key and addresses by owner, reused by every request. Kept up to date peer by
 * peer (`put`, `delete`), so a read of an interface where little changed costs little;
 * `version` moves on every change, so a caller can tell that nothing did.
 */
export class PeerIndex {
  readonly #byKey: Map<string, RelayPeerView>;
  readonly #routes: RouteIndex;
  #version = 0;

  constructor(peers: readonly RelayPeerView[]) {
    this.#byKey = new Map(peers.map((p) => [p.publicKey, p]));
    this.#routes = new RouteIndex(peers);
  }

  get peers(): RelayPeerView[] {
    return [...this.#byKey.values()];
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Moves on with every `put` or `delete` that changed something. */
  get version(): number {
    return this.#version;
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  /** Add a peer, or replace its line (allowed-ips and handshake). */
  put(peer: RelayPeerView): void {
    const old = this.#byKey.get(peer.publicKey);
    if (old === peer) return;
    if (old === undefined || !sameList(old.allowedIps, peer.allowedIps)) {
      if (old !== undefined) this.#routes.remove(old);
      this.#routes.add(peer);
    }
    this.#byKey.set(peer.publicKey, peer);
    this.#version++;
  }

  delete(publicKey: string): void {
    const old = this.#byKey.get(publicKey);
    if (old === undefined) return;
    this.#routes.remove(old);
    this.#byKey.delete(publicKey);
    this.#version++;
  }

  /**
   * Note a peer added with no allowed-ips, or removed while holding none: a batch of
   * registrations plans each on the one index.
   */
  addUnrouted(publicKey: string): void {
    this.put({ publicKey, allowedIps: [], latestHandshake: 0 });
  }

  removeUnrouted(publicKey: string): void {
    if ((this.#byKey.get(publicKey)?.allowedIps.length ?? 0) > 0) {
      throw new PqpskError('INTERNAL', 'peer index: removing a peer that holds addresses needs a rebuild');
    }
    this.delete(publicKey);
  }

  get(key: string): RelayPeerView | undefined {
    return this.#byKey.get(key);
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** The peer whose allowed-ips route `ip` (longest prefix), or null. */
  routeOwner(ip: string): string | null {
    return this.#routes.owner(ip);
  }

  /** The peer holding exactly this allowed-ip entry, or null. */
  holderOf(cidr: string): string | null {
    return this.#routes.holderOf(cidr);
  }
}

/** The same entries in the same order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rules an operator can relax. */
export interface AuthPolicy {
  /**
   * Accept a parent whose allowed-ips include a prefix wider than one host. Off by
   * default: a peer with 0.0.0.0/0 or a site's subnet would authenticate any source
   * that reaches the service from outside the tunnel.
   */
  readonly allowWideParents: boolean;
}

export const STRICT_AUTH: AuthPolicy = Object.freeze({ allowWideParents: false });

const DENIED = (): PqpskError => new PqpskError('PERMISSION_DENIED', 'parent key does not match the tunnel of the request');

/** Is every entry a single host (IPv4 /32, IPv6 /128)? */
export function hostRoutesOnly(allowedIps: readonly string[]): boolean {
  return allowedIps.every((ip) => (ip.includes(':') ? ip.endsWith('/128') : ip.endsWith('/32')));
}

/**
 * Authenticate a request: the parent is the key of the tunnel it travels in, so `sourceIp`
 * must be routed (longest prefix) to the claimed parent or to a live ephemeral of it.
 * The claim may name a live ephemeral (a client negotiating again from its ephemeral key
 * sends that key); it resolves to its normal parent. Returns the normal parent's key.
 * Unknown and wrong parents fail alike, and so does a tunnel with wider than host routes
 * unless the policy allows it.
 */
export function authenticate(
  book: RelayBook,
  view: PeerIndex | readonly RelayPeerView[],
  claimedParent: string,
  sourceIp: string,
  policy: AuthPolicy = STRICT_AUTH,
): string {
  const index = view instanceof PeerIndex ? view : new PeerIndex(view);
  const tunnel = index.routeOwner(sourceIp);
  if (tunnel === null) throw DENIED();
  const tunnelPeer = index.get(tunnel);
  if (tunnelPeer === undefined || (!policy.allowWideParents && !hostRoutesOnly(tunnelPeer.allowedIps))) throw DENIED();
  const claimedEphemeral = book.ephemerals.find((e) => e.ephemeral === claimedParent);
  const parent = claimedEphemeral?.parent ?? claimedParent;
  const parentPeer = index.get(parent);
  if (parentPeer === undefined) throw DENIED();
  if (!policy.allowWideParents && !hostRoutesOnly(parentPeer.allowedIps)) throw DENIED();
  if (claimedEphemeral !== undefined && tunnel !== claimedParent) throw DENIED();
  if (tunnel === parent) return parent;
  const record = book.ephemerals.find((e) => e.parent === parent && e.ephemeral === tunnel);
  if (record === undefined) throw DENIED();
  const given = new Set(book.parents.find((p) => p.parent === parent)?.allowedIps ?? []);
  if (classifyEphemeral(record, tunnelPeer, given, 0, NEVER) !== 'live') throw DENIED();
  return parent;
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

function asIndex(view: PeerIndex | readonly RelayPeerView[]): PeerIndex {
  return view instanceof PeerIndex ? view : new PeerIndex(view);
}

/**
 * Plan a new registration for an authenticated `parent`. The new ephemeral starts
 * pending (no allowed-ips). Earlier ephemerals of the parent that hold nothing are
 * replaced at once; a live one stays until the new one handshakes. An ephemeral the
 * operator has taken over (foreign) is left alone. The returned changes remove the
 * replaced peers; adding the new peer (with its PSK) is the caller's, in the same `wg set`.
 */
export function planRegistration(
  book: RelayBook,
  view: PeerIndex | readonly RelayPeerView[],
  parent: string,
  ephemeral: string,
  nowMs: number,
): Plan {
  const index = asIndex(view);
  const parentPeer = index.get(parent);
  if (parentPeer === undefined) throw DENIED();
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
    changes: replaced.length === 0 ? [] : [replaced.map((e): PeerOp => ({ publicKey: e.ephemeral, remove: true }))],
    events,
  };
}

/**
 * The family's addresses as the interface shows them: the parent's own, plus those on
 * its ephemerals that are still the relay's (never a foreign one's). Recorded addresses
 * held by nobody come back only when a member that may have held them vanished or was
 * taken over by the operator, and the parent holds nothing — an address the operator
 * removed stays removed.
 */
function familyAddresses(
  parentPeer: RelayPeerView,
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
function lentAddresses(own: readonly EphemeralRecord[], index: PeerIndex, states: ReadonlyMap<string, EphemeralState>): Set<string> {
  const lent = new Set<string>();
  for (const e of own) {
    const state = states.get(e.ephemeral);
    if (state === 'foreign' || state === 'vanished') continue;
    for (const ip of index.get(e.ephemeral)?.allowedIps ?? []) lent.add(ip);
  }
  return lent;
}

function holdsAny(index: PeerIndex, key: string): boolean {
  return (index.get(key)?.allowedIps.length ?? 0) > 0;
}

/**
 * Whether the operator set the parent's allowed-ips while the family's addresses were on
 * one of its ephemerals: the relay's own moves never leave both holding (one `wg set`
 * gives the live member everything), so the parent's list is the operator's new one, and
 * what the ephemeral holds is what they took away. The parent must not get it back.
 */
function parentOverruled(parentPeer: RelayPeerView, own: readonly EphemeralRecord[], index: PeerIndex, states: ReadonlyMap<string, EphemeralState>): boolean {
  if (parentPeer.allowedIps.length === 0) return false;
  return own.some((e) => {
    const state = states.get(e.ephemeral);
    return state !== 'foreign' && state !== 'vanished' && holdsAny(index, e.ephemeral);
  });
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

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
export function planTick(book: RelayBook, view: PeerIndex | readonly RelayPeerView[], nowMs: number, timeouts: Timeouts, received?: ReceivedSince): Plan {
  const index = asIndex(view);
  const changes: PeerOp[][] = [];
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
    const ops: PeerOp[] = [];
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

/**
 * The book cut into books of at most `size` parents, each with its parents' ephemerals.
 * planTick plans each family on its own (it reads the interface, never another family),
 * so the slices' plans joined by `joinPlans` equal the whole book's plan; an ephemeral
 * whose parent has no record is in no slice, as planTick drops it too. The relay plans
 * a large book slice by slice and lets requests in between.
 */
export function familySlices(book: RelayBook, size: number): RelayBook[] {
  if (!Number.isInteger(size) || size < 1) throw new PqpskError('INVALID_INPUT', `slice size: expected a whole number ≥ 1, got ${String(size)}`);
  if (book.parents.length <= size) return [book];
  // One walk of the ephemerals for all slices: a parent recorded twice may sit in two.
  const slicesOf = new Map<string, number[]>();
  const parents: (readonly ParentRecord[])[] = [];
  for (let from = 0; from < book.parents.length; from += size) {
    const slice = parents.length;
    parents.push(book.parents.slice(from, from + size));
    for (const p of parents[slice]!) {
      const of = slicesOf.get(p.parent);
      if (of === undefined) slicesOf.set(p.parent, [slice]);
      else if (of[of.length - 1] !== slice) of.push(slice);
    }
  }
  const ephemerals: EphemeralRecord[][] = parents.map(() => []);
  for (const e of book.ephemerals) for (const slice of slicesOf.get(e.parent) ?? []) ephemerals[slice]!.push(e);
  return parents.map((p, slice) => ({ parents: p, ephemerals: ephemerals[slice]! }));
}

/** The plans of `familySlices`' books, in order, as one plan. */
export function joinPlans(plans: readonly Plan[]): Plan {
  if (plans.length === 1) return plans[0]!;
  return {
    book: { parents: plans.flatMap((p) => p.book.parents), ephemerals: plans.flatMap((p) => p.book.ephemerals) },
    changes: plans.flatMap((p) => p.changes),
    events: plans.flatMap((p) => p.events),
    ties: plans.flatMap((p) => p.ties ?? []),
  };
}

/** Whether a pass changed nothing worth storing: the same records, as keys and parents' addresses (linear, no serialisation). */
export function sameBook(a: RelayBook, b: RelayBook): boolean {
  if (a.parents.length !== b.parents.length || a.ephemerals.length !== b.ephemerals.length) return false;
  const ephemerals = new Set(a.ephemerals.map((e) => e.ephemeral));
  if (!b.ephemerals.every((e) => ephemerals.has(e.ephemeral))) return false;
  const parents = new Map(a.parents.map((p) => [p.parent, p.allowedIps]));
  return b.parents.every((p) => {
    const ips = parents.get(p.parent);
    return ips !== undefined && sameList(ips, p.allowedIps);
  });
}

/**
 * Whether one slice's plan changes nothing: no change, no event, and its slice's book as
 * `sameBook` judges it. When every slice of `familySlices(book)` passes and the slices
 * hold the book's ephemerals exactly once between them, the joined plan passes for the
 * whole book: every record is kept, so a parent in two slices would count its
 * ephemerals twice, and within a slice the judgement is the whole one's.
 */
export function slicePlanUnchanged(slice: RelayBook, plan: Plan): boolean {
  return plan.changes.length === 0 && plan.events.length === 0 && sameBook(slice, plan.book);
}

/** Allowed-ips first (the new holder takes them), removals after: never a gap with no route. */
function sortOps(ops: PeerOp[]): PeerOp[] {
  return [...ops.filter((o) => o.remove !== true), ...ops.filter((o) => o.remove === true)];
}

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
export function planRecovery(book: RelayBook, view: PeerIndex | readonly RelayPeerView[], nowMs: number): Plan {
  const index = asIndex(view);
  const changes: PeerOp[][] = [];
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
    const ops: PeerOp[] = [];
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
export function planRelease(book: RelayBook, view: PeerIndex | readonly RelayPeerView[]): Plan {
  const index = asIndex(view);
  const changes: PeerOp[][] = [];
  const events: PeerEvent[] = [];
  const ephemeralsOf = indexEphemerals(book);
  for (const record of book.parents) {
    const parent = record.parent;
    const own = ephemeralsOf.get(parent) ?? [];
    const given = new Set(record.allowedIps);
    const states = new Map(own.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, 0, NEVER)]));
    const ops: PeerOp[] = [];
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
