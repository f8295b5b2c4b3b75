/**
 * The relay's secret-free reads, parsed: `wg show <iface> public-key`, and the per-peer
 * forms (`allowed-ips`, `latest-handshakes`) by an incremental parser that runs a slice
 * of lines at a time and reuses the lines of the previous output that did not change.
 */
import { PqpskError } from '../errors.js';
import { isPublicKeyBytes, isPublicKeyText } from './keys.js';
import { NEWLINE, NONE, TAB, detach, isNoneAt } from './parse-text.js';

/** Parses `wg show <iface> public-key`: the key, or '' for `(none)`. */
export function parsePublicKey(iface: string, text: string): string {
  const key = text.trim();
  if (key === NONE) return '';
  if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `\`wg show ${iface} public-key\` output: not a WireGuard key`);
  return detach(key);
}

/** `wg show <iface> latest-handshakes` (public key → unix seconds, 0 = never), as a parser run a slice of lines at a time. */
export function latestHandshakesParser(iface: string, output: string | Uint8Array, lines?: PerPeerLines<number>): PerPeerParser<number> {
  const where = `\`wg show ${iface} latest-handshakes\` output`;
  return new PerPeerParser(where, output, (bytes, start, end, n) => digits(where, n, 'latest handshake', bytes, start, end), lines);
}

/** `wg show <iface> allowed-ips` (public key → CIDRs, empty for `(none)`), as a parser run a slice of lines at a time. */
export function allowedIpsParser(iface: string, output: string | Uint8Array, lines?: PerPeerLines<readonly string[]>): PerPeerParser<readonly string[]> {
  const where = `\`wg show ${iface} allowed-ips\` output`;
  return new PerPeerParser(where, output, (bytes, start, end) => (start === end || isNoneAt(bytes, start, end) ? [] : bytes.toString('latin1', start, end).split(' ')), lines);
}

interface Line<T> {
  readonly start: number;
  readonly end: number;
  readonly key: string;
  readonly value: T;
  /** Another line with the same hash. */
  readonly next: Line<T> | undefined;
}

/** One whole output, its lines by hash and what it parsed to: replaced together, never changed in place. */
interface LinesOf<T> {
  readonly bytes: Uint8Array;
  readonly byHash: ReadonlyMap<number, Line<T>>;
  readonly result: ReadonlyMap<string, T>;
}

/**
 * The previous output of one per-peer `wg show` form, line by line, so the next read of
 * the same form parses only the lines that changed: an unchanged line costs a hash and a
 * byte comparison, and yields the key and value parsed last time — the same objects, so
 * a caller comparing with what it holds finds them equal at once. At 10 000 peers most
 * lines are the same from one poll to the next, in whatever order `wg` prints them.
 * Holds one output (of a form without secrets) and an entry per line: bounded by the
 * interface's peers. One per interface and form.
 */
export class PerPeerLines<T> {
  last: LinesOf<T> | undefined;
}

/**
 * The shared shape of the per-peer `wg show` forms: `<public key>\t<value>` per line.
 * Parsed from the bytes in one scan: each key is checked on its bytes and decoded on its
 * own into a fresh string (so a kept key never pins the whole output, see `detach`), and
 * `value` reads its field from the bytes — at 10 000 peers a read is one of the relay's
 * largest pieces of event-loop work, so nothing here builds a string it does not keep.
 *
 * `step` parses a slice of lines, so a caller can let other work run between slices (a
 * parse of 10 000 lines holds the event loop for 5–20 ms); `finish` parses the rest at
 * once. Either way the map is the same. A parser reuses the lines of the previous output
 * as they were when it was made, and becomes the previous output itself only once it has
 * parsed every line without an error, so parsers of the same form may interleave.
 * An output byte for byte the previous one (at 10 000 peers, most reads of allowed-ips,
 * and of handshakes while nobody handshook) is not parsed at all: its map is the previous
 * map, the same object, which is why it is read-only.
 */
export class PerPeerParser<T> {
  readonly #where: string;
  readonly #bytes: Buffer;
  readonly #value: (bytes: Buffer, start: number, end: number, line: number) => T;
  readonly #lines: PerPeerLines<T> | undefined;
  readonly #previous: LinesOf<T> | undefined;
  readonly #out: Map<string, T> | ReadonlyMap<string, T> = new Map<string, T>();
  readonly #byHash = new Map<number, Line<T>>();
  #start = 0;
  #n = 0;

  constructor(where: string, output: string | Uint8Array, value: (bytes: Buffer, start: number, end: number, line: number) => T, lines?: PerPeerLines<T>) {
    this.#where = where;
    // A copy, never a view: the runner hands over bytes in a resizable ArrayBuffer, on which
    // every indexed read takes V8's slow path (measured: 5× the whole parse). These outputs
    // carry no secret, so the copy needs no wiping (and `lines` may keep it).
    this.#bytes = typeof output === 'string' ? Buffer.from(output, 'latin1') : Buffer.from(output);
    this.#value = value;
    this.#lines = lines;
    this.#previous = lines?.last;
    if (this.#previous !== undefined && this.#bytes.equals(this.#previous.bytes)) {
      this.#out = this.#previous.result;
      this.#start = this.#bytes.length;
    }
  }

  /** Whether every line is parsed (`result` is then complete). */
  get done(): boolean {
    return this.#start >= this.#bytes.length;
  }

  /** Public key → value for the lines parsed so far: all of them once `done`. */
  get result(): ReadonlyMap<string, T> {
    return this.#out;
  }

  /** Parse up to `maxLines` more lines (at least one); true once every line is parsed. */
  step(maxLines: number): boolean {
    const bytes = this.#bytes;
    if (this.done) return true;
    const previous = this.#previous;
    const out = this.#out as Map<string, T>;
    const byHash = this.#byHash;
    let start = this.#start;
    let n = this.#n;
    for (let budget = Math.max(1, maxLines); budget > 0 && start < bytes.length; budget--) {
      n++;
      let tab = -1;
      let count = 1;
      let end = start;
      let hash = 0x811c9dc5;
      for (; end < bytes.length && bytes[end] !== NEWLINE; end++) {
        hash = Math.imul(hash ^ bytes[end]!, 0x01000193);
        if (bytes[end] !== TAB) continue;
        count++;
        if (tab < 0) tab = end;
      }
      hash &= 0x3fffffff; // a small integer: a map key V8 need not box
      let line = previous === undefined ? undefined : previous.byHash.get(hash);
      while (line !== undefined && !sameBytes(previous!.bytes, line.start, line.end, bytes, start, end)) line = line.next;
      if (line === undefined) {
        if (count !== 2) throw new PqpskError('WG_FAILURE', `${this.#where}: line ${n} has ${count} fields, expected 2`);
        if (!isPublicKeyBytes(bytes, start, tab)) {
          throw new PqpskError('WG_FAILURE', `${this.#where}: line ${n} public key is not a WireGuard key`);
        }
        line = { start, end, key: bytes.toString('latin1', start, tab), value: this.#value(bytes, tab + 1, end, n), next: undefined };
      }
      out.set(line.key, line.value);
      if (this.#lines !== undefined) {
        // A line unchanged at the same place is kept as it is: no new object per line.
        const next = byHash.get(hash);
        byHash.set(hash, line.start === start && line.end === end && line.next === next ? line : { start, end, key: line.key, value: line.value, next });
      }
      start = end + 1;
    }
    this.#start = start;
    this.#n = n;
    if (!this.done) return false;
    if (this.#lines !== undefined) this.#lines.last = { bytes, byHash, result: out };
    return true;
  }

  /** Parse every line left and return the map. */
  finish(): ReadonlyMap<string, T> {
    this.step(Number.POSITIVE_INFINITY);
    return this.#out;
  }
}

function sameBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** `integer` on `bytes[start, end)`, without making the field a string. */
function digits(where: string, n: number, field: string, bytes: Uint8Array, start: number, end: number): number {
  let value = end - start >= 1 && end - start <= 15 ? 0 : -1;
  for (let i = start; i < end && value >= 0; i++) {
    const d = bytes[i]! - 0x30;
    value = d >= 0 && d <= 9 ? value * 10 + d : -1;
  }
  if (value < 0) throw new PqpskError('WG_FAILURE', `${where}: line ${n} ${field} is not a non-negative integer`);
  return value;
}
