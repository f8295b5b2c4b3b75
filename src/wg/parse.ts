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
import { KEY_BASE64_CHARS, isPublicKeyText } from './keys.js';
import type { WgInterfaceState, WgPeer, WgPeerRoute } from './types.js';

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

/** Parses `wg show <iface> latest-handshakes`: public key → unix seconds (0 = never). */
export function parseLatestHandshakes(iface: string, output: string | Uint8Array): Map<string, number> {
  const where = `\`wg show ${iface} latest-handshakes\` output`;
  return parsePerPeer(where, output, (value, n) => integer(where, n, 'latest handshake', value));
}

/** Parses `wg show <iface> allowed-ips`: public key → CIDRs (empty for `(none)`). */
export function parseAllowedIps(iface: string, output: string | Uint8Array): Map<string, string[]> {
  const where = `\`wg show ${iface} allowed-ips\` output`;
  return parsePerPeer(where, output, (list) => (list === NONE || list === '' ? [] : list.split(' ')));
}

/**
 * The shared shape of the per-peer `wg show` forms: `<public key>\t<value>` per line.
 * Parsed from the bytes: each field is decoded on its own into a fresh string (so a kept
 * key never pins the whole output, see `detach`), without splitting the whole text first
 * — at 10 000 peers this is what keeps a read off the event loop's critical path.
 */
function parsePerPeer<T>(where: string, output: string | Uint8Array, value: (field: string, line: number) => T): Map<string, T> {
  const bytes = typeof output === 'string' ? Buffer.from(output, 'latin1') : Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  const out = new Map<string, T>();
  let start = 0;
  let n = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    n++;
    const tab = bytes.indexOf(TAB, start);
    const extra = tab < 0 || tab > end ? -1 : bytes.indexOf(TAB, tab + 1);
    if (tab < 0 || tab > end || (extra >= 0 && extra < end)) {
      let count = 1;
      for (let i = start; i < end; i++) if (bytes[i] === TAB) count++;
      throw new PqpskError('WG_FAILURE', `${where}: line ${n} has ${count} fields, expected 2`);
    }
    const key = bytes.toString('latin1', start, tab);
    if (!isPublicKeyText(key)) {
      throw new PqpskError('WG_FAILURE', `${where}: line ${n} public key is not a WireGuard key`);
    }
    out.set(key, value(bytes.toString('latin1', tab + 1, end), n));
    start = end + 1;
  }
  return out;
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
export function joinPeerRoutes(allowedIps: ReadonlyMap<string, string[]>, handshakes: ReadonlyMap<string, number>): WgPeerRoute[] {
  return [...allowedIps].map(([publicKey, ips]) => ({ publicKey, allowedIps: ips, latestHandshake: handshakes.get(publicKey) ?? 0 }));
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

function isNoneAt(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== NONE.length) return false;
  for (let i = 0; i < NONE.length; i++) if (bytes[start + i] !== NONE.charCodeAt(i)) return false;
  return true;
}
