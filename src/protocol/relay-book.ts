/**
 * The relay's book and what its plans say: the types every relay rule shares. The book
 * is what pqpsk registered (public keys and the addresses of each parent's family, never
 * a secret); the rules (classifier, authentication, the planners, one file each) are pure
 * functions over it and a view of the interface's peers. The server persists the book,
 * reads `wg`, asks the planners what to do, and carries the answer out in one `wg set`.
 *
 * A parent and its ephemeral peers form a *family*; the family's addresses are the
 * parent's allowed-ips plus whatever the relay moved onto its ephemerals. Only one
 * member holds them — the *live* one — and a handshake from another member makes it
 * the live one. Registrations are made before broken: a live ephemeral (the client is
 * negotiating again through it) stays until the new one handshakes.
 *
 * The operator is authoritative: the family's addresses are re-read from the interface
 * on every tick (an address the operator added stays, one they gave to someone else is
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
import type { HandshakeTie } from './handshake-tie.js';
import type { WgPeerChange } from './wg-peer.js';

/** One ephemeral the relay registered: what it must remember to expire or remove it. */
export interface EphemeralRecord {
  readonly ephemeral: string;
  readonly parent: string;
  /** Unix milliseconds. */
  readonly registeredAt: number;
}

/** One family the relay has lent addresses to: what may go back to its parent. */
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

/** The book of a relay that has registered nothing (frozen: safe to share). */
export const EMPTY_BOOK: RelayBook = Object.freeze({ parents: [], ephemerals: [] });

/** Why an ephemeral left the book or moved: counted in metrics and logged. */
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

/** One thing a plan did to one ephemeral of one family. */
export interface PeerEvent {
  readonly kind: PeerEventKind;
  readonly parent: string;
  readonly ephemeral: string;
}

/** The outcome of a decision: the new book, the `wg set` changes per parent, and what happened. */
export interface Plan {
  readonly book: RelayBook;
  /** One group per parent; the relay may apply several groups in one `wg set`, in order. */
  readonly changes: readonly (readonly WgPeerChange[])[];
  readonly events: readonly PeerEvent[];
  /** planTick's only: families tied on the latest handshake second (see handshake-tie.ts). */
  readonly ties?: readonly HandshakeTie[];
}

/** When ephemerals expire: the relay's settings, passed to every planner that expires. */
export interface Timeouts {
  /** An ephemeral that never handshakes is removed after this long (120 s). */
  readonly pendingMs: number;
  /** A handshook ephemeral idle (no handshake) for this long is removed. */
  readonly idleMs: number;
}
