/**
 * The relay's batch queue: admitted, encapsulated registrations wait here for the lock,
 * and each batch takes the interface as read at most a few seconds before (reading it
 * again when older), re-checks and plans every request in turn (one walk of the book),
 * and ends in ONE `wg set` (each new ephemeral with its PSK and no allowed-ips, plus the
 * plans' removals) and one write-ahead commit of the book.
 */
import { RegistrationPlanner } from '../protocol/plan-registrations.js';
import type { PeerIndex } from '../protocol/peer-index.js';
import type { PeerEvent, RelayBook } from '../protocol/relay-book.js';
import { PqpskError } from '../errors.js';
import { yieldToEventLoop } from '../yield.js';
import type { WgPeerChange } from '../wg/types.js';
import type { Admitted } from './admission.js';
import type { Clock } from './clock.js';
import type { InterfaceView } from './interface-view.js';
import type { SerialQueue } from './serial.js';

/**
 * Most registrations one batch carries into one `wg set` (bounds the argv and the lock's
 * hold). Why 256: a batch's read of the interface and its book write cost the same
 * whatever its size, so after a restart of a relay with thousands of clients, bigger
 * batches heal them sooner (2 000 clients: 99 % in 35 s at 256, not in 60 s at 64).
 */
export const MAX_BATCH = 256;

/**
 * How old the cached interface may be for a batch to plan on it rather than read all of it
 * again. Why: at 10 000 parents a full read (two `wg show`s of 20 000 peers) costs about
 * as much as the rest of a batch, and after a restart batches follow one another, each
 * seeing the one before it in the cache (the poller reads only handshakes while batches
 * overtake its reads). A change the operator made within those seconds is missed, as it
 * would be if made just after a read: the next full read sees it, and what the batch did
 * is then reconciled like any other change. A poller pass that read handshakes alone
 * applies what it planned on a cache this recent in the same way (relay-tick.ts).
 */
export const BATCH_READ_MAX_AGE_MS = 5000;

/** Registrations re-authenticated per task of a batch (each a walk of the book's ephemerals, well under a millisecond). */
const RECHECKS_PER_TASK = 16;

/** A registration that passed authentication and encapsulation, waiting for the next batch. */
export interface QueuedRegistration extends Omit<Admitted, 'kems'> {
  readonly psk: Uint8Array;
  /** Aborted when the client cancelled the call (its deadline passed): the batch then skips it. */
  readonly signal?: AbortSignal | undefined;
}

/** What a batch needs of the relay: the lock, the view, the book and how to change them. */
export interface BatchHost {
  readonly lock: SerialQueue;
  readonly view: InterfaceView;
  readonly clock: Clock;
  book(): RelayBook;
  /** Throws when `q` no longer may register on this book and interface. */
  recheck(book: RelayBook, index: PeerIndex, q: QueuedRegistration): void;
  /** Commit `book` with `changes` in one `wg set` (write-ahead). */
  commit(book: RelayBook, changes: readonly WgPeerChange[]): Promise<void>;
  /** A batch of `count` registrations went through with these events. */
  done(count: number, events: readonly PeerEvent[]): void;
}

interface Waiting {
  readonly q: QueuedRegistration;
  readonly done: (replaced: number) => void;
  readonly fail: (err: unknown) => void;
}

/** The queue of one relay; bounded by the relay's in-flight gate, which every waiting call holds. */
export class RegistrationBatch {
  readonly #host: BatchHost;
  #queue: Waiting[] = [];
  #flushQueued = false;

  constructor(host: BatchHost) {
    this.#host = host;
  }

  /** Queue `q` for the next batch; resolves to how many ephemerals it replaced. */
  join(q: QueuedRegistration): Promise<number> {
    return new Promise<number>((done, fail) => {
      this.#queue.push({ q, done, fail });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    void this.#host.lock.run(() => this.#flush());
  }

  /**
   * One batch under the lock: every registration waiting now, one read, one `wg set`,
   * one commit. A request that no longer authenticates fails alone; a failed `wg set`
   * fails the whole batch (their PSKs were never confirmed set).
   */
  async #flush(): Promise<void> {
    const host = this.#host;
    this.#flushQueued = false;
    const batch = this.#queue.splice(0, MAX_BATCH);
    if (this.#queue.length > 0) this.#scheduleFlush();
    if (batch.length === 0) return;
    let index;
    try {
      index = await host.view.recent(BATCH_READ_MAX_AGE_MS);
    } catch (err) {
      for (const w of batch) w.fail(err);
      return;
    }
    const now = host.clock.now();
    const start = host.book();
    const planner = new RegistrationPlanner(start, index, now);
    const changes: WgPeerChange[] = [];
    const added = new Set<string>();
    const accepted: { w: Waiting; replaced: number }[] = [];
    const events: PeerEvent[] = [];
    for (const [i, w] of batch.entries()) {
      const q = w.q;
      // Let requests in between (authenticating one walks the book's ephemerals).
      if (i > 0 && i % RECHECKS_PER_TASK === 0) await yieldToEventLoop();
      // A client that gave up waiting will not use this key: when the relay is behind (a
      // herd after a restart), adding it would spend the batch's time on nobody.
      if (q.signal?.aborted === true) {
        w.fail(cancelledError());
        continue;
      }
      try {
        // The book as the batch began: what the batch's earlier registrations changed
        // cannot change a verdict (they drop only ephemerals that are not live, which
        // authenticate no one, and add ones that route nothing yet).
        host.recheck(start, index, q);
        const step = planner.add(q.parent, q.ephemeral);
        changes.push({ publicKey: q.ephemeral, presharedKey: q.psk });
        added.add(q.ephemeral);
        index.addUnrouted(q.ephemeral);
        for (const op of step.removals) {
          if (added.delete(op.publicKey)) {
            // Registered and replaced within this batch: it never reaches the interface.
            const at = changes.findIndex((c) => c.publicKey === op.publicKey);
            if (at >= 0) changes.splice(at, 1);
          } else {
            changes.push(op);
          }
          index.removeUnrouted(op.publicKey);
        }
        events.push(...step.events);
        accepted.push({ w, replaced: step.events.filter((e) => e.kind === 'replaced').length });
      } catch (err) {
        w.fail(err);
      }
    }
    if (accepted.length === 0) return;
    await yieldToEventLoop();
    const book = planner.book();
    await yieldToEventLoop();
    try {
      await host.commit(book, changes);
    } catch (err) {
      // The interface may have been changed after all: re-read it before trusting the cache.
      await host.view.refresh().catch(() => undefined);
      for (const a of accepted) a.w.fail(err);
      return;
    }
    host.done(accepted.length, events);
    for (const a of accepted) a.w.done(a.replaced);
  }
}

/** What a call fails with once its client cancelled it: in the batch queue, in the relay's pipeline, or while the relay opens. */
export function cancelledError(): PqpskError {
  return new PqpskError('TIMEOUT', 'the client cancelled the call');
}
