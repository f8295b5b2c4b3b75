/**
 * Where the relay keeps its book (src/protocol/peer-state.ts RelayBook) across restarts:
 * which ephemeral peers it registered for which parent, and the parents' own
 * allowed-ips. Public keys and addresses only — never a PSK — yet the file is still
 * private (mode 0600, directory 0700): it maps a relay's users to their tunnel addresses.
 *
 * Writes are atomic (write a temporary file, fsync, rename, fsync the directory), so a
 * crash leaves either the old book or the new one, never half of one.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PqpskError } from '../errors.js';
import { checkTrusted, untrustedBecause } from '../fs-checks.js';
import { canonicalCidr } from '../protocol/ip.js';
import type { EphemeralRecord, ParentRecord, RelayBook } from '../protocol/peer-state.js';
import { EMPTY_BOOK } from '../protocol/peer-state.js';
import { checkInterfaceName } from '../wg/argv.js';
import { isPublicKeyText } from '../wg/keys.js';

/** What the relay needs from persistence; tests use MemoryBookStore. */
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

export { DEFAULT_STATE_DIR } from './defaults.js';

const FORMAT = 'pqpsk-relay-book';
/** Suffix of the previous version of the book. */
const PREVIOUS = '.prev';
const VERSION = 1;

/** One JSON file per interface in `dir`: `<dir>/<iface>.book.json`. */
export class FileBookStore implements BookStore {
  readonly location: string;
  readonly #dir: string;

  constructor(dir: string, iface: string) {
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
    await checkStateDir(this.#dir);
    const problems: string[] = [];
    for (const path of [this.location, `${this.location}${PREVIOUS}`]) {
      const text = await readPrivateFile(path, problems);
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
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      // A temporary file left by a crash may have any mode: never reuse it.
      await rm(tmp, { force: true });
      const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
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
}

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

/** The file's JSON shape, versioned so a later format can be told apart. */
export function serializeBook(book: RelayBook): unknown {
  return {
    format: FORMAT,
    version: VERSION,
    parents: book.parents.map((p) => ({ parent: p.parent, allowedIps: [...p.allowedIps] })),
    ephemerals: book.ephemerals.map((e) => ({ ephemeral: e.ephemeral, parent: e.parent, registeredAt: e.registeredAt })),
  };
}

/**
 * Refuse a state directory that is a symlink, not ours, or writable by group or others:
 * whoever can write there can rewrite the book, and the book decides which peers the
 * relay removes. A missing directory is fine (the first save creates it 0700).
 */
async function checkStateDir(dir: string): Promise<void> {
  let st;
  try {
    st = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new PqpskError('SETUP', `state directory ${dir}: cannot inspect (${errnoOf(err)})`);
  }
  checkTrusted(`state directory ${dir}`, st, { kind: 'directory', hints: { symlink: 'give the real directory', writable: 'chmod 700 it' } });
}

/**
 * Read a book file without following a symlink, only if it is ours and not writable by
 * others; null (with the reason in `problems`) when absent or untrusted.
 */
async function readPrivateFile(path: string, problems: string[]): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`${path}: cannot open (${code === 'ELOOP' ? 'a symlink' : errnoOf(err)})`);
    return null;
  }
  try {
    const st = await handle.stat();
    const why = untrustedBecause(st, { kind: 'file' });
    if (why !== null) problems.push(`${path}: ${why}`);
    else return await handle.readFile('utf8');
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * A stored book as far as it can be trusted: each record that checks out is kept, each
 * that does not is dropped and named. `usable` is false when the file is not a book at
 * all (bad JSON, another format or version).
 */
export function salvageBook(location: string, text: string): { book: RelayBook; problems: string[]; usable: boolean } {
  try {
    return { book: parseBook(location, text), problems: [], usable: true };
  } catch (err) {
    const whole = err instanceof PqpskError ? err.message : 'unreadable';
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return { book: EMPTY_BOOK, problems: [whole], usable: false };
    }
    if (!isObject(data) || data['format'] !== FORMAT || data['version'] !== VERSION) return { book: EMPTY_BOOK, problems: [whole], usable: false };
    const problems: string[] = [];
    const parents: ParentRecord[] = [];
    const ephemerals: EphemeralRecord[] = [];
    const raw = (key: string): unknown[] => (Array.isArray(data[key]) ? (data[key] as unknown[]) : []);
    raw('parents').forEach((p, i) => {
      try {
        parents.push(parentRecord(location, p, i));
      } catch {
        problems.push(`${location}: parents[${i}] dropped (malformed)`);
      }
    });
    const recorded = new Set(parents.map((p) => p.parent));
    raw('ephemerals').forEach((e, i) => {
      try {
        ephemerals.push(ephemeralRecord(location, e, i, recorded));
      } catch {
        problems.push(`${location}: ephemerals[${i}] dropped (malformed or no recorded parent)`);
      }
    });
    return { book: { parents, ephemerals }, problems, usable: true };
  }
}

/** Parse and check a stored book; every problem is a SETUP error naming the file and field. */
export function parseBook(location: string, text: string): RelayBook {
  const fail = (what: string): never => bookFault(location, what);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail('not valid JSON');
  }
  if (!isObject(data) || data['format'] !== FORMAT) return fail(`not a ${FORMAT} file`);
  if (data['version'] !== VERSION) return fail(`unsupported version ${String(data['version'])}`);
  const parentsRaw = data['parents'];
  const ephemeralsRaw = data['ephemerals'];
  if (!Array.isArray(parentsRaw) || !Array.isArray(ephemeralsRaw)) return fail('parents and ephemerals must be lists');
  const parents = parentsRaw.map((p: unknown, i) => parentRecord(location, p, i));
  const recorded = new Set(parents.map((p) => p.parent));
  const ephemerals = ephemeralsRaw.map((e: unknown, i) => ephemeralRecord(location, e, i, recorded));
  return { parents, ephemerals };
}

/** `parents[i]` of a stored book, checked; a SETUP error naming the field otherwise. */
function parentRecord(location: string, p: unknown, i: number): ParentRecord {
  if (!isObject(p) || !isKey(p['parent'])) return bookFault(location, `parents[${i}].parent is not a WireGuard public key`);
  const ips = p['allowedIps'];
  if (!Array.isArray(ips) || !ips.every(isCanonicalCidr)) {
    return bookFault(location, `parents[${i}].allowedIps must be a list of CIDRs as \`wg\` prints them`);
  }
  return { parent: p['parent'], allowedIps: ips as string[] };
}

/** `ephemerals[i]` of a stored book, checked against the `recorded` parents. */
function ephemeralRecord(location: string, e: unknown, i: number, recorded: ReadonlySet<string>): EphemeralRecord {
  if (!isObject(e) || !isKey(e['ephemeral'])) return bookFault(location, `ephemerals[${i}].ephemeral is not a WireGuard public key`);
  if (!isKey(e['parent']) || !recorded.has(e['parent'])) return bookFault(location, `ephemerals[${i}].parent is not a recorded parent`);
  const at = e['registeredAt'];
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) return bookFault(location, `ephemerals[${i}].registeredAt is not a time`);
  return { ephemeral: e['ephemeral'], parent: e['parent'], registeredAt: at };
}

function bookFault(location: string, what: string): never {
  throw new PqpskError('STATE_DAMAGED', `state file ${location}: ${what}`);
}

/**
 * An allowed-ip exactly as `wg` prints it. Anything else in a hand-edited book would
 * either fail the `wg set` that gives it back (and stop the relay at start) or never
 * match what `wg` shows.
 */
function isCanonicalCidr(ip: unknown): boolean {
  if (typeof ip !== 'string') return false;
  try {
    return canonicalCidr('allowed-ip', ip) === ip;
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKey(value: unknown): value is string {
  return typeof value === 'string' && isPublicKeyText(value);
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'I/O error';
}
