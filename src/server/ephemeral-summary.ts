/**
 * What the watcher and the gauges ask about every recorded ephemeral — how many are live,
 * whether one is pending, when the newest was registered, and until when time alone
 * changes none of their states — computed in one pass over the book and kept while the
 * book (an immutable value: a new object on every change), the view (its `version`) and
 * the clock (up to the earliest expiry) stay put. At 10 000 peers a pass is milliseconds
 * of event loop; asking after every watcher pass and every `/metrics` scrape would
 * repeat it many times a second for nothing.
 */
import { classifyEphemeral, stateHoldsUntil } from '../protocol/ephemeral-state.js';
import type { PeerIndex } from '../protocol/peer-index.js';
import type { ParentRecord, RelayBook, Timeouts } from '../protocol/relay-book.js';

export interface EphemeralCounts {
  readonly live: number;
  /** Every recorded ephemeral that is not live (pending, standby, due for removal…). */
  readonly notLive: number;
  /** Some ephemeral is pending: on the interface, never handshook, within its timeout. */
  readonly anyPending: boolean;
  /** The newest registration's time (−∞ with none). */
  readonly newestRegisteredAt: number;
  /** Inclusive: until then, with the same book and view, every state holds. */
  readonly holdsUntil: number;
}

const NOTHING: ReadonlySet<string> = new Set();

/** A parent record's addresses as the classifier asks about them (a family holds one or two: no set needed). */
function givenOf(record: ParentRecord): Pick<ReadonlySet<string>, 'has'> {
  return { has: (ip) => record.allowedIps.includes(ip) };
}

export class EphemeralSummary {
  readonly #timeouts: Timeouts;
  #book: RelayBook | undefined;
  #index: PeerIndex | undefined;
  #version = -1;
  #counts: EphemeralCounts | undefined;

  constructor(timeouts: Timeouts) {
    this.#timeouts = timeouts;
  }

  /** The counts for this book on this view at `nowMs` (recomputed only when one of them moved on). */
  of(book: RelayBook, index: PeerIndex, nowMs: number): EphemeralCounts {
    const counts = this.#counts;
    if (counts !== undefined && this.#book === book && this.#index === index && this.#version === index.version && nowMs <= counts.holdsUntil) return counts;
    this.#book = book;
    this.#index = index;
    this.#version = index.version;
    this.#counts = summarize(book, index, nowMs, this.#timeouts);
    return this.#counts;
  }
}

function summarize(book: RelayBook, index: PeerIndex, nowMs: number, timeouts: Timeouts): EphemeralCounts {
  const parents = new Map(book.parents.map((p) => [p.parent, p]));
  let live = 0;
  let anyPending = false;
  let newestRegisteredAt = Number.NEGATIVE_INFINITY;
  let holdsUntil = Number.POSITIVE_INFINITY;
  for (const e of book.ephemerals) {
    const peer = index.get(e.ephemeral);
    const record = parents.get(e.parent);
    const state = classifyEphemeral(e, peer, record === undefined ? NOTHING : givenOf(record), nowMs, timeouts);
    if (state === 'live') live++;
    else if (state === 'pending') anyPending = true;
    newestRegisteredAt = Math.max(newestRegisteredAt, e.registeredAt);
    holdsUntil = Math.min(holdsUntil, stateHoldsUntil(e, peer, nowMs, timeouts));
  }
  return { live, notLive: book.ephemerals.length - live, anyPending, newestRegisteredAt, holdsUntil };
}
