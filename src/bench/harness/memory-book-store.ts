/**
 * A book store in memory, the test double of the file store (every saved version kept,
 * saves that fail on demand) with a bench-only mode (`latestOnly`). It lives here while
 * both the tests and the bench use it; nothing in the product imports it.
 */
import { PqpskError } from '../../errors.js';
import { EMPTY_BOOK, type RelayBook } from '../../protocol/relay-book.js';
import { parseBook, serializeBook } from '../../server/book-codec.js';
import type { BookStore } from '../../server/book-store.js';

/**
 * In memory, for tests: keeps every saved version and can be told to fail. With
 * `latestOnly` it keeps just the latest book as given (no history, no JSON round trip),
 * which adds nothing to the relay's own copy — as a file store adds nothing — so the
 * benchmark can read a relay's memory at tens of thousands of peers.
 */
export class MemoryBookStore implements BookStore {
  readonly location = 'memory';
  readonly saved: RelayBook[] = [];
  #book: RelayBook;
  #failNext = 0;
  readonly #latestOnly: boolean;

  constructor(initial: RelayBook = EMPTY_BOOK, options: { readonly latestOnly?: boolean } = {}) {
    this.#book = initial;
    this.#latestOnly = options.latestOnly ?? false;
  }

  get current(): RelayBook {
    return this.#book;
  }

  /** Make the next `n` saves fail (a full disk). */
  failNextSaves(n = 1): void {
    this.#failNext = n;
  }

  async load(): Promise<RelayBook> {
    return this.#book;
  }

  async save(book: RelayBook): Promise<void> {
    if (this.#failNext > 0) {
      this.#failNext--;
      throw new PqpskError('SETUP', 'state file memory: cannot write (ENOSPC)');
    }
    if (this.#latestOnly) {
      this.#book = book;
      return;
    }
    // Round-trip through JSON as the file store would, so tests see exactly what persists.
    this.#book = parseBook('memory', JSON.stringify(serializeBook(book)));
    this.saved.push(this.#book);
  }
}
