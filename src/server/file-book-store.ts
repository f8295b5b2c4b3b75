/**
 * The book on disk: one private JSON file per interface, written atomically (a temporary
 * file, fsync, rename, fsync the directory), so a crash leaves either the old book or the
 * new one, never half of one, with the previous good version kept beside it. Public keys
 * and addresses only — never a PSK — yet the file is private (mode 0600, directory 0700):
 * it maps a relay's users to their tunnel addresses.
 */
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PqpskError } from '../errors.js';
import { EMPTY_BOOK, type RelayBook } from '../protocol/relay-book.js';
import { checkInterfaceName } from '../wg/argv.js';
import { salvageBook, serializeBook } from './book-codec.js';
import { checkStateDir, errnoOf, readPrivateFile } from './book-permissions.js';
import type { BookStore } from './book-store.js';

/** Suffix of the previous version of the book. */
const PREVIOUS = '.prev';

/** One JSON file per interface in `dir`: `<dir>/<iface>.book.json`. */
export class FileBookStore implements BookStore {
  readonly location: string;
  readonly #dir: string;

  /**
   * `readerForRelayUser`: a root reader (`server status`) beside a relay that runs as
   * another user trusts the book of that user — the owner of the state directory, given
   * to it by the broker — instead of requiring its own uid.
   */
  constructor(dir: string, iface: string, private readonly readerForRelayUser = false) {
    checkInterfaceName(iface);
    this.#dir = dir;
    this.location = join(dir, `${iface}.book.json`);
  }

  problems: readonly string[] = [];
  /** False after a load found the current file untrusted: it must not become the previous version. */
  #rotate = true;

  /**
   * The stored book, or what can be salvaged of it: a damaged, foreign-owned, loosely
   * writable or symlinked file is not trusted; the previous good version (kept beside it
   * at each save) is tried next, then the empty book — every record dropped is named in
   * `problems`. The state directory itself must be ours and not writable by others
   * (SETUP otherwise: nothing in it could be trusted).
   */
  async load(): Promise<RelayBook> {
    const owner = await checkStateDir(this.#dir, this.readerForRelayUser);
    const problems: string[] = [];
    for (const path of [this.location, `${this.location}${PREVIOUS}`]) {
      const text = await readPrivateFile(path, problems, owner);
      const salvaged = text === null ? null : salvageBook(path, text);
      if (path === this.location) this.#rotate = problems.length === 0 && salvaged?.problems.length === 0;
      if (salvaged === null) continue;
      problems.push(...salvaged.problems);
      if (salvaged.usable) {
        this.problems = problems;
        return salvaged.book;
      }
    }
    this.problems = problems;
    return EMPTY_BOOK;
  }

  async save(book: RelayBook): Promise<void> {
    const text = `${JSON.stringify(serializeBook(book), null, 1)}\n`;
    const tmp = `${this.location}.tmp`;
    try {
      const handle = await this.#createTemporary(tmp);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The current version becomes the previous one: a book damaged later still has a
      // good predecessor to recover from.
      if (this.#rotate) {
        await rename(this.location, `${this.location}${PREVIOUS}`).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        });
      }
      await rename(tmp, this.location);
      this.#rotate = true;
      const dir = await open(this.#dir, constants.O_RDONLY);
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      throw new PqpskError('SETUP', `state file ${this.location}: cannot write (${errnoOf(err)})`);
    }
  }

  /**
   * The temporary file, created afresh (mode 0600). A missing state directory is made,
   * and a temporary file left by a crash (which may have any mode) is removed, only when
   * the first try says so: the relay saves on every registration batch, and each step
   * here is a round trip through the thread pool that the batch waits for.
   */
  async #createTemporary(tmp: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (attempt === 2 || (code !== 'ENOENT' && code !== 'EEXIST')) throw err;
        if (code === 'ENOENT') await mkdir(this.#dir, { recursive: true, mode: 0o700 });
        else await rm(tmp, { force: true });
      }
    }
  }
}
