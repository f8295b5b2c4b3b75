/**
 * The book's file format: JSON, versioned, every field checked as it is read. Read
 * strictly (`parseBook`: the first fault is an error) or as far as it can be trusted
 * (`salvageBook`: each bad record dropped and named) — one reading of the text either way.
 */
import { PqpskError } from '../errors.js';
import { canonicalCidr } from '../protocol/ip.js';
import { EMPTY_BOOK, type EphemeralRecord, type ParentRecord, type RelayBook } from '../protocol/relay-book.js';
import { isPublicKeyText } from '../wg/keys.js';

const FORMAT = 'pqpsk-relay-book';
const VERSION = 1;

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
 * A stored book as far as it can be trusted: each record that checks out is kept, each
 * that does not is dropped and named. `usable` is false when the file is not a book at
 * all (bad JSON, another format or version).
 */
export function salvageBook(location: string, text: string): { book: RelayBook; problems: string[]; usable: boolean } {
  let data: Record<string, unknown>;
  try {
    data = bookObject(location, text);
  } catch (err) {
    return { book: EMPTY_BOOK, problems: [err instanceof PqpskError ? err.message : 'unreadable'], usable: false };
  }
  const problems: string[] = [];
  const book = bookRecords(location, data, (problem) => void problems.push(problem));
  return { book, problems, usable: true };
}

/** Parse and check a stored book; every problem is a SETUP error naming the file and field. */
export function parseBook(location: string, text: string): RelayBook {
  const data = bookObject(location, text);
  if (!Array.isArray(data['parents']) || !Array.isArray(data['ephemerals'])) return bookFault(location, 'parents and ephemerals must be lists');
  return bookRecords(location, data, (_problem, err) => {
    throw err;
  });
}

/** The text as a book's JSON object of this format and version; a SETUP error otherwise. */
function bookObject(location: string, text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return bookFault(location, 'not valid JSON');
  }
  if (!isObject(data) || data['format'] !== FORMAT) return bookFault(location, `not a ${FORMAT} file`);
  if (data['version'] !== VERSION) return bookFault(location, `unsupported version ${String(data['version'])}`);
  return data;
}

/**
 * The records of a book's object, in order; each that does not check out goes to `drop`
 * with what to say and the error (a strict reader throws it). A field that is not a list
 * holds no records.
 */
function bookRecords(location: string, data: Record<string, unknown>, drop: (problem: string, err: unknown) => void): RelayBook {
  const list = (key: string): unknown[] => (Array.isArray(data[key]) ? (data[key] as unknown[]) : []);
  const parents: ParentRecord[] = [];
  list('parents').forEach((p, i) => {
    try {
      parents.push(parentRecord(location, p, i));
    } catch (err) {
      drop(`${location}: parents[${i}] dropped (malformed)`, err);
    }
  });
  const recorded = new Set(parents.map((p) => p.parent));
  const ephemerals: EphemeralRecord[] = [];
  list('ephemerals').forEach((e, i) => {
    try {
      ephemerals.push(ephemeralRecord(location, e, i, recorded));
    } catch (err) {
      drop(`${location}: ephemerals[${i}] dropped (malformed or no recorded parent)`, err);
    }
  });
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
