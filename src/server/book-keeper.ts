/**
 * The relay's one write-ahead routine. Before any `wg set`, the stored book is the union
 * of the old and the new book, so every peer pqpsk may have on the interface is
 * recorded; then the change; then the new book. A crash or a failed (or timed-out but
 * applied) `wg set` leaves extra records, which the next pass drops or expires — never
 * an unrecorded peer.
 */
import { PqpskError } from '../errors.js';
import { sameList } from '../protocol/peer-index.js';
import type { EphemeralRecord, ParentRecord, RelayBook } from '../protocol/relay-book.js';
import type { BookStore } from './book-store.js';
import { describeError, type Logger } from './log.js';

/**
 * Every record of either book. A parent in both lists the addresses of both: a record
 * names what the relay may have lent to the family's ephemerals, and until the change is
 * known to have applied that is what either book says (dropping the older list would
 * forget addresses still owed back to the parent).
 */
export function unionBook(older: RelayBook, newer: RelayBook): RelayBook {
  // Called before every `wg set` on the whole book: at 10 000 parents, building a merged
  // list only for a parent whose two lists differ (a batch changes a few) keeps it to two
  // map walks.
  const parents = new Map<string, ParentRecord>();
  for (const p of older.parents) parents.set(p.parent, p);
  for (const p of newer.parents) {
    const old = parents.get(p.parent);
    if (old === undefined || (sameList(old.allowedIps, p.allowedIps) && distinct(p.allowedIps))) parents.set(p.parent, p);
    else parents.set(p.parent, { parent: p.parent, allowedIps: [...new Set([...p.allowedIps, ...old.allowedIps])] });
  }
  const ephemerals = new Map<string, EphemeralRecord>();
  for (const e of older.ephemerals) ephemerals.set(e.ephemeral, e);
  for (const e of newer.ephemerals) ephemerals.set(e.ephemeral, e);
  return { parents: [...parents.values()], ephemerals: [...ephemerals.values()] };
}

/** No entry twice (a family's list holds one or two addresses: no set needed). */
function distinct(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (list.lastIndexOf(list[i]!, i - 1) >= 0) return false;
  return true;
}

/** The relay's book in memory and on disk, changed only through `commit`. */
export class BookKeeper {
  #book: RelayBook;
  readonly #store: BookStore;
  readonly #logger: Logger;
  readonly #iface: string;
  /** The write in progress, if any; the next one starts after it. */
  #writing: Promise<void> = Promise.resolve();

  constructor(book: RelayBook, store: BookStore, logger: Logger, iface: string) {
    this.#book = book;
    this.#store = store;
    this.#logger = logger;
    this.#iface = iface;
  }

  get book(): RelayBook {
    return this.#book;
  }

  /**
   * Move to `next`, running `apply` (the `wg set`) in between. The union is stored
   * first (a failure there throws before anything changes); if `apply` fails, the union
   * stays, in memory and on disk, and the next pass re-plans from what `wg` shows.
   * After a successful `apply`, `next` is written without the caller waiting for it: the
   * stored union already records every peer `next` has, so a crash before that write
   * loses nothing, and registrations are answered one disk write sooner (`written()`
   * waits for it). With nothing to apply, only `next` is stored, and the caller waits.
   */
  async commit(next: RelayBook, apply: (() => Promise<void>) | null): Promise<void> {
    if (apply === null) {
      this.#book = next;
      await this.saveQuietly();
      return;
    }
    const union = unionBook(this.#book, next);
    await this.#save(union);
    try {
      await apply();
    } catch (err) {
      this.#book = union;
      throw err;
    }
    this.#book = next;
    void this.saveQuietly();
  }

  /** Resolves once every write asked for so far has finished (or failed). */
  async written(): Promise<void> {
    await this.#writing;
  }

  /** Store the current book; the stored version is already safe, so a failure only warns. */
  async saveQuietly(): Promise<void> {
    try {
      await this.#save(this.#book);
    } catch (err) {
      this.#logger.log('warn', { event: 'persist-failed', iface: this.#iface, ...describeError(err) });
    }
  }

  /** Store the current book, failing loudly (shutdown). */
  async save(): Promise<void> {
    await this.#save(this.#book);
  }

  /** Writes run one at a time, in the order asked, so an older book never lands last. */
  #save(book: RelayBook): Promise<void> {
    const write = this.#writing.then(() => this.#store.save(book));
    this.#writing = write.catch(() => undefined);
    return write.catch((err: unknown) => {
      throw new PqpskError('INTERNAL', `cannot persist the relay book: ${describeError(err).message}`, { cause: err });
    });
  }
}
