/**
 * The planner of registrations, one after another on one book: for each, which earlier
 * ephemerals of its parent it replaces and what the book records. Its lookups are built
 * in one walk of the book, so a batch of a hundred registrations on a 10 000-family book
 * costs one walk, not one per request. Pure; the relay adds each new peer with its PSK itself.
 */
import { PqpskError } from '../errors.js';
import { deniedError } from './authenticate.js';
import { NEVER, classifyEphemeral, type EphemeralState } from './ephemeral-state.js';
import { indexEphemerals, lentAddresses } from './family.js';
import type { PeerIndex } from './peer-index.js';
import type { EphemeralRecord, ParentRecord, PeerEvent, RelayBook } from './relay-book.js';
import type { WgPeerChange } from './wg-peer.js';

/** What one registration of the batch decided: the peers it removes and its events. */
export interface RegistrationStep {
  readonly removals: readonly WgPeerChange[];
  readonly events: readonly PeerEvent[];
}

/**
 * Registrations planned one after another on one book, each deciding as it would alone on
 * the book the ones before it left (planRegistration is a batch of one), with the book's
 * records kept in maps between them. `index` is the caller's and is read at each step:
 * the caller notes there the peers each step adds and removes.
 */
export class RegistrationPlanner {
  readonly #book: RelayBook;
  readonly #index: PeerIndex;
  readonly #nowMs: number;
  /** Ephemerals by key: the book's, less those dropped, plus those added. */
  readonly #ephemerals = new Map<string, EphemeralRecord>();
  readonly #byParent: Map<string, EphemeralRecord[]>;
  /** The parent records the batch wrote, in the order of their last write (it puts each last). */
  readonly #touched = new Map<string, ParentRecord>();
  readonly #parents = new Map<string, ParentRecord>();
  readonly #added: EphemeralRecord[] = [];

  constructor(book: RelayBook, index: PeerIndex, nowMs: number) {
    this.#book = book;
    this.#index = index;
    this.#nowMs = nowMs;
    for (const e of book.ephemerals) this.#ephemerals.set(e.ephemeral, e);
    for (const p of book.parents) if (!this.#parents.has(p.parent)) this.#parents.set(p.parent, p);
    this.#byParent = indexEphemerals(book);
  }

  /**
   * Plan one registration for an authenticated `parent`: the new ephemeral starts pending;
   * the parent's earlier ephemerals that hold nothing are replaced (the removals), a live
   * one stays until the new one handshakes, and one the operator took over is released.
   * A refusal throws and changes nothing.
   */
  add(parent: string, ephemeral: string): RegistrationStep {
    const index = this.#index;
    if (index.get(parent) === undefined) throw deniedError();
    if (index.has(ephemeral) || this.#ephemerals.has(ephemeral)) {
      throw new PqpskError('INVALID_INPUT', 'wg_ephemeral_peer_pubkey: already a peer of this relay');
    }
    const given = new Set(this.#parents.get(parent)?.allowedIps ?? []);
    const mine = this.#byParent.get(parent) ?? [];
    const states = new Map<string, EphemeralState>(mine.map((e) => [e.ephemeral, classifyEphemeral(e, index.get(e.ephemeral), given, this.#nowMs, NEVER)]));
    const replaced = mine.filter((e) => states.get(e.ephemeral) === 'pending' || states.get(e.ephemeral) === 'standby');
    const record: ParentRecord = { parent, allowedIps: [...lentAddresses(mine, index, states)] };
    this.#parents.set(parent, record);
    this.#touched.delete(parent);
    this.#touched.set(parent, record);
    const kept: EphemeralRecord[] = [];
    for (const e of mine) {
      if (states.get(e.ephemeral) === 'live') {
        kept.push(e);
      } else {
        this.#ephemerals.delete(e.ephemeral);
      }
    }
    const added: EphemeralRecord = { ephemeral, parent, registeredAt: this.#nowMs };
    kept.push(added);
    this.#byParent.set(parent, kept);
    this.#ephemerals.set(ephemeral, added);
    this.#added.push(added);
    const events: PeerEvent[] = replaced.map((e) => ({ kind: 'replaced', parent, ephemeral: e.ephemeral }));
    for (const e of mine) {
      const state = states.get(e.ephemeral);
      if (state === 'foreign' || state === 'vanished') events.push({ kind: state === 'foreign' ? 'released' : 'vanished', parent, ephemeral: e.ephemeral });
    }
    return { removals: replaced.map((e): WgPeerChange => ({ publicKey: e.ephemeral, remove: true })), events };
  }

  /** The book after every registration planned so far (one more walk of it). */
  book(): RelayBook {
    const touched = this.#touched;
    const current = this.#ephemerals;
    const parents = [...this.#book.parents.filter((p) => !touched.has(p.parent)), ...touched.values()];
    // A record stays while it is the one its key maps to (a dropped key may come back as a new record).
    const ephemerals = [...this.#book.ephemerals, ...this.#added].filter((e) => current.get(e.ephemeral) === e);
    return { parents, ephemerals };
  }
}
