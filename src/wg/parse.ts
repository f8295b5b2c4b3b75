/**
 * Pure parsers for what `wg show` prints, kept apart from the I/O so they are tested on
 * text directly: text in, typed values out.
 * Errors name the line and the field, never the text (a dump line can hold a key).
 *
 * `wg show <if> dump` (wg(8)): the first line is `private-key public-key listen-port
 * fwmark`; each further line is `public-key preshared-key endpoint allowed-ips
 * latest-handshake transfer-rx transfer-tx persistent-keepalive`, tab-separated, with
 * `(none)` for an absent key, endpoint or allowed-ips list and `off` for no keepalive.
 */
import { PqpskError } from '../errors.js';
import { KEY_BASE64_CHARS, isPublicKeyBytes, isPublicKeyText } from './keys.js';
import type { WgInterfaceState, WgInterfaceSummary, WgPeer, WgPeerRoute, WgPeerSummary } from './types.js';

const NONE = '(none)';
const TAB = 0x09;
const NEWLINE = 0x0a;
const MASK = 0x2a; // '*'

/**
 * Overwrites, in place, the secret fields of raw `dump` output (the interface's private
 * key, each peer's PSK) with `*`, so the text can become a JS string — which cannot be
 * wiped — without carrying a secret. `(none)` is left as it is; a masked PSK still
 * reads as present to `parseDump`.
 */
export function maskDumpSecrets(bytes: Uint8Array): void {
  let line = 0;
  let field = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i] : NEWLINE;
    if (b !== TAB && b !== NEWLINE) continue;
    const isSecret = (line === 0 && field === 0) || (line > 0 && field === 1);
    if (isSecret && !isNoneAt(bytes, start, i)) bytes.fill(MASK, start, i);
    if (b === NEWLINE) {
      line++;
      field = 0;
    } else {
      field++;
    }
    start = i + 1;
  }
}

/** Parses `wg show <iface> dump`; the private key and PSK values are dropped, never returned. */
export function parseDump(iface: string, text: string): WgInterfaceState {
  const where = `\`wg show ${iface} dump\` output`;
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const head = lines[0];
  if (head === undefined) throw new PqpskError('WG_FAILURE', `${where}: empty`);
  const h = fields(where, head, 1, 4);
  const publicKey = h[1]!;
  if (publicKey !== NONE && !isPublicKeyText(publicKey)) {
    throw new PqpskError('WG_FAILURE', `${where}: line 1 public key is not a WireGuard key`);
  }
  const listenPort = integer(where, 1, 'listen port', h[2]!);
  const peers = lines.slice(1).map((line, i) => parsePeerLine(where, i + 2, line));
  return { name: iface, publicKey: publicKey === NONE ? '' : detach(publicKey), listenPort, peers };
}

/**
 * Parses `wg show <iface>` (the form for people) for what the client needs: the
 * interface's public key, its peers and whether each has a PSK. wg prints a private key
 * or PSK there as `(hidden)` unless told otherwise; a line that shows a key's value
 * instead makes the whole output wiped and refused, so a key never becomes a string.
 */
export function parseSummary(iface: string, bytes: Uint8Array): WgInterfaceSummary {
  const where = `\`wg show ${iface}\` output`;
  let line = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    line++;
    for (const label of SECRET_LABELS) {
      if (startsWithAt(bytes, start, end, label) && !startsWithAt(bytes, start + label.length, end, HIDDEN, true)) {
        bytes.fill(0);
        throw new PqpskError('WG_FAILURE', `${where}: line ${line} shows a key instead of ${HIDDEN} (WG_HIDE_KEYS=never?)`);
      }
    }
    start = end + 1;
  }
  const lines = new TextDecoder().decode(bytes).split('\n');
  if (!lines[0]?.startsWith('interface: ')) throw new PqpskError('WG_FAILURE', `${where}: line 1 is not an interface line`);
  let publicKey = '';
  const peers: WgPeerSummary[] = [];
  let peer: { publicKey: string; hasPresharedKey: boolean } | null = null;
  for (const [i, text] of lines.entries()) {
    if (text.startsWith('peer: ')) {
      const key = text.slice('peer: '.length);
      if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `${where}: line ${i + 1} public key is not a WireGuard key`);
      peer = { publicKey: detach(key), hasPresharedKey: false };
      peers.push(peer);
    } else if (peer === null && text.startsWith('  public key: ')) {
      const key = text.slice('  public key: '.length);
      if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `${where}: line ${i + 1} public key is not a WireGuard key`);
      publicKey = detach(key);
    } else if (peer !== null && text.startsWith(PSK_LABEL)) {
      peer.hasPresharedKey = true;
    }
  }
  return { name: iface, publicKey, peers };
}

const HIDDEN = '(hidden)';
const PSK_LABEL = '  preshared key: ';
const SECRET_LABELS = ['  private key: ', PSK_LABEL];

/** Whether `bytes[start, end)` begins with `text` (or, `whole`, is exactly `text`). */
function startsWithAt(bytes: Uint8Array, start: number, end: number, text: string, whole = false): boolean {
  if (end - start < text.length || (whole && end - start !== text.length)) return false;
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Parses `wg show <iface> latest-handshakes`: public key → unix seconds (0 = never). */
export function parseLatestHandshakes(iface: string, output: string | Uint8Array, lines?: PerPeerLines<number>): ReadonlyMap<string, number> {
  return latestHandshakesParser(iface, output, lines).finish();
}

/** Parses `wg show <iface> allowed-ips`: public key → CIDRs (empty for `(none)`). */
export function parseAllowedIps(iface: string, output: string | Uint8Array, lines?: PerPeerLines<readonly string[]>): ReadonlyMap<string, readonly string[]> {
  return allowedIpsParser(iface, output, lines).finish();
}

/** `parseLatestHandshakes` as a parser its caller runs a slice of lines at a time. */
export function latestHandshakesParser(iface: string, output: string | Uint8Array, lines?: PerPeerLines<number>): PerPeerParser<number> {
  const where = `\`wg show ${iface} latest-handshakes\` output`;
  return new PerPeerParser(where, output, (bytes, start, end, n) => digits(where, n, 'latest handshake', bytes, start, end), lines);
}

/** `parseAllowedIps` as a parser its caller runs a slice of lines at a time. */
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

/** Parses `wg show <iface> public-key`: the key, or '' for `(none)`. */
export function parsePublicKey(iface: string, text: string): string {
  const key = text.trim();
  if (key === NONE) return '';
  if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `\`wg show ${iface} public-key\` output: not a WireGuard key`);
  return detach(key);
}

/**
 * The relay's view from the two secret-free reads: allowed-ips gives the peer list,
 * latest-handshakes the times (a peer added between the two reads counts as never).
 */
export function joinPeerRoutes(allowedIps: ReadonlyMap<string, readonly string[]>, handshakes: ReadonlyMap<string, number>): WgPeerRoute[] {
  const join = new PeerRouteJoin(allowedIps, handshakes);
  join.step(Number.POSITIVE_INFINITY);
  return join.result;
}

/**
 * `joinPeerRoutes` a slice of peers at a time, as PerPeerParser parses (a join of 10 000
 * peers makes 10 000 objects). The maps must not change while it runs (parsed maps never do).
 */
export class PeerRouteJoin {
  readonly #entries: IterableIterator<[string, readonly string[]]>;
  readonly #handshakes: ReadonlyMap<string, number>;
  readonly #routes: WgPeerRoute[] = [];
  #done = false;

  constructor(allowedIps: ReadonlyMap<string, readonly string[]>, handshakes: ReadonlyMap<string, number>) {
    this.#entries = allowedIps.entries();
    this.#handshakes = handshakes;
  }

  /** Join up to `maxPeers` more peers (at least one); true once every peer is joined. */
  step(maxPeers: number): boolean {
    for (let budget = Math.max(1, maxPeers); budget > 0 && !this.#done; budget--) {
      const next = this.#entries.next();
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const [publicKey, ips] = next.value;
      this.#routes.push({ publicKey, allowedIps: ips, latestHandshake: this.#handshakes.get(publicKey) ?? 0 });
    }
    return this.#done;
  }

  /** The peers joined so far: all of them once `step` returned true. */
  get result(): WgPeerRoute[] {
    return this.#routes;
  }
}

function parsePeerLine(where: string, n: number, line: string): WgPeer {
  const f = fields(where, line, n, 8);
  const [publicKey, psk, endpoint, allowed, handshake, rx, tx, keepalive] = f as [
    string, string, string, string, string, string, string, string,
  ];
  if (!isPublicKeyText(publicKey)) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} public key is not a WireGuard key`);
  }
  if (psk !== NONE && psk.length !== KEY_BASE64_CHARS) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} preshared key field has ${psk.length} characters`);
  }
  if (endpoint === '') throw new PqpskError('WG_FAILURE', `${where}: line ${n} endpoint is empty`);
  return {
    publicKey: detach(publicKey),
    hasPresharedKey: psk !== NONE,
    endpoint: endpoint === NONE ? null : detach(endpoint),
    allowedIps: allowed === NONE ? [] : allowed.split(',').map(detach),
    latestHandshake: integer(where, n, 'latest handshake', handshake),
    rxBytes: integer(where, n, 'transfer-rx', rx),
    txBytes: integer(where, n, 'transfer-tx', tx),
    persistentKeepalive: keepalive === 'off' ? null : integer(where, n, 'persistent keepalive', keepalive),
  };
}

/**
 * A copy of `text` that does not keep the whole command output alive. V8 may represent a
 * substring as a slice of its parent string, so a key kept in the relay's book would pin
 * the entire `wg show dump` text it came from (measured: heap growing with the square
 * of the peer count). Fields are ASCII, so a latin1 round trip copies them exactly.
 */
function detach(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function fields(where: string, line: string, n: number, expected: number): string[] {
  const f = line.split('\t');
  if (f.length !== expected) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} has ${f.length} fields, expected ${expected}`);
  }
  return f;
}

function integer(where: string, n: number, field: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} ${field} is not a non-negative integer`);
  }
  return Number(text);
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

function isNoneAt(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== NONE.length) return false;
  for (let i = 0; i < NONE.length; i++) if (bytes[start + i] !== NONE.charCodeAt(i)) return false;
  return true;
}
