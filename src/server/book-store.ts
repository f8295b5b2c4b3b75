/**
 * The relay's book store: the port through which the relay loads and saves its book
 * (src/protocol/relay-book.ts RelayBook). The file store (file-book-store.ts) is the
 * real one; tests and the bench hand in one in memory.
 */
import type { RelayBook } from '../protocol/relay-book.js';

/** What the relay needs from persistence: a book to start from and an atomic save. */
export interface BookStore {
  /** The stored book, or the empty book when nothing was stored yet. */
  load(): Promise<RelayBook>;
  /** Replace the stored book atomically. */
  save(book: RelayBook): Promise<void>;
  /** Where it lives, for messages. */
  readonly location: string;
  /**
   * What was wrong with the stored book at the last `load` (empty when nothing was).
   * A damaged book never stops the relay: `load` returns what it could salvage and says
   * here what it dropped, for a loud log line.
   */
  readonly problems?: readonly string[];
}
