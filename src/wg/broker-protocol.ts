/**
 * The language between the unprivileged relay and the privileged broker that runs `wg`
 * for it (broker.ts): length-prefixed frames over a socketpair, and the check of every
 * request the broker accepts. Pure: no process, no socket.
 *
 * A frame is `u32 total | u32 json length | JSON header | raw bytes`. The header of a
 * request names one typed operation on the broker's own interface; the raw bytes carry
 * the PSKs of a `set` (32 bytes each, referred to by index), so a secret is never a
 * JavaScript string that cannot be wiped. A reply carries `wg`'s secret-free output as
 * its raw bytes. Nothing here names a program, an argument or an environment variable:
 * the broker builds each command itself, so a relay that is taken over can ask only for
 * what a relay needs.
 */
import { PqpskError, checkLength } from '../errors.js';
import { canonicalCidr } from '../protocol/ip.js';
import { KEY_BYTES } from '../protocol/wireguard.js';
import { checkPublicKeyText } from './keys.js';
import type { WgPeerChange } from './types.js';

/** The secret-free `wg show <if> <field>` reads a relay makes. */
export const SHOW_FIELDS = ['public-key', 'allowed-ips', 'latest-handshakes', 'transfer'] as const;
export type ShowField = (typeof SHOW_FIELDS)[number];

/**
 * Largest frame either side accepts. A `set` of every peer of a 100 000-peer relay with
 * its addresses stays below it; a larger frame is skipped unread and refused.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Most peers one `set` may change (bounds the broker's work per request). */
export const MAX_SET_PEERS = 100_000;
/** Most prefixes one peer's allowed-ips may list. */
export const MAX_ALLOWED_IPS = 1024;

/** A checked request, as the broker runs it. */
export type BrokerRequest =
  | { readonly id: number; readonly op: 'show'; readonly field: ShowField }
  | { readonly id: number; readonly op: 'set'; readonly peers: readonly WgPeerChange[] }
  | { readonly id: number; readonly op: 'nft' };

/** What the broker answers: `wg`'s output, or a refusal/failure safe to show. */
export type BrokerReplyHeader =
  | { readonly id: number | null; readonly ok: true; readonly found?: boolean }
  | { readonly id: number | null; readonly ok: false; readonly code: string; readonly message: string };

/** One frame: its parsed JSON header and its raw bytes. */
export interface Frame {
  readonly header: unknown;
  readonly bytes: Uint8Array;
}

/** Encode a frame. The caller wipes `bytes` when they are secret; the frame is returned for it to wipe too. */
export function encodeFrame(header: object, bytes: Uint8Array = new Uint8Array(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const frame = Buffer.alloc(8 + json.length + bytes.length);
  frame.writeUInt32BE(4 + json.length + bytes.length, 0);
  frame.writeUInt32BE(json.length, 4);
  json.copy(frame, 8);
  frame.set(bytes, 8 + json.length);
  return frame;
}

/**
 * Splits a byte stream into frames. Chunks are kept as they come and joined once a frame
 * is whole, so a large frame costs one copy. A frame declared larger than MAX_FRAME_BYTES
 * is skipped as it arrives (never buffered) and reported as 'oversized'; a frame whose
 * header is not JSON is reported as 'malformed'. Received chunks are wiped once copied.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes of an oversized frame still to skip. */
  #skipping = 0;

  /** Feed bytes; returns what became complete. */
  push(chunk: Buffer): (Frame | 'oversized' | 'malformed')[] {
    const out: (Frame | 'oversized' | 'malformed')[] = [];
    const skip = Math.min(this.#skipping, chunk.length);
    this.#skipping -= skip;
    if (skip < chunk.length) {
      this.#chunks.push(chunk.subarray(skip));
      this.#length += chunk.length - skip;
    }
    while (this.#length >= 4) {
      if (this.#chunks[0]!.length < 4) this.#join();
      const total = this.#chunks[0]!.readUInt32BE(0);
      if (total > MAX_FRAME_BYTES || total < 4) {
        out.push('oversized');
        const drop = Math.min(this.#length, 4 + total);
        this.#skipping = 4 + total - drop;
        this.#join();
        this.#keep(drop);
        continue;
      }
      if (this.#length < 4 + total) break;
      this.#join();
      const body = this.#chunks[0]!.subarray(4, 4 + total);
      const jsonLength = body.readUInt32BE(0);
      let header: unknown;
      try {
        header = jsonLength > body.length - 4 ? undefined : JSON.parse(body.subarray(4, 4 + jsonLength).toString('utf8'));
      } catch {
        header = undefined;
      }
      if (header === undefined) out.push('malformed');
      else out.push({ header, bytes: new Uint8Array(body.subarray(4 + jsonLength)) });
      this.#keep(4 + total);
    }
    return out;
  }

  /** All buffered chunks as one (wiping the pieces). */
  #join(): void {
    if (this.#chunks.length <= 1) return;
    const joined = Buffer.concat(this.#chunks, this.#length);
    for (const c of this.#chunks) c.fill(0);
    this.#chunks = [joined];
  }

  /** Drops the first `n` bytes of the (joined) buffer, wiping them. */
  #keep(n: number): void {
    const only = this.#chunks[0]!;
    const rest = Buffer.from(only.subarray(n));
    only.fill(0);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
  }
}

/**
 * The request a frame carries, checked whole: only the listed operations, only on
 * `iface`, only the fields each one has, every key a 32-byte base64 key, every prefix a
 * canonical CIDR, every PSK 32 non-zero bytes of the frame. Anything else is
 * INVALID_INPUT with a message naming the field (never a value). The PSKs are copied
 * out of `bytes`; the caller wipes `bytes` and, after use, each returned PSK.
 */
export function checkRequest(header: unknown, bytes: Uint8Array, iface: string): BrokerRequest {
  const h = record(header, 'request');
  const id = h['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw invalid('request id: expected a whole number ≥ 1');
  if (h['iface'] !== iface) throw invalid(`request interface: this broker serves ${iface} only`);
  const op = h['op'];
  if (op === 'show') {
    onlyFields(h, ['id', 'op', 'iface', 'field'], 'show request');
    const field = h['field'];
    if (!SHOW_FIELDS.includes(field as ShowField)) throw invalid(`show field: expected one of ${SHOW_FIELDS.join(', ')}`);
    if (bytes.length !== 0) throw invalid('show request: carries no bytes');
    return { id, op, field: field as ShowField };
  }
  if (op === 'nft') {
    onlyFields(h, ['id', 'op', 'iface'], 'nft request');
    if (bytes.length !== 0) throw invalid('nft request: carries no bytes');
    return { id, op };
  }
  if (op === 'set') {
    onlyFields(h, ['id', 'op', 'iface', 'peers'], 'set request');
    return { id, op, peers: checkPeers(h['peers'], bytes) };
  }
  throw invalid('request op: expected show, set or nft');
}

function checkPeers(value: unknown, bytes: Uint8Array): WgPeerChange[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_SET_PEERS) throw invalid(`set peers: expected 1 to ${MAX_SET_PEERS} changes`);
  if (bytes.length % KEY_BYTES !== 0) throw invalid('set request: PSK bytes are not whole 32-byte keys');
  const used = new Set<number>();
  const peers = value.map((raw: unknown, i): WgPeerChange => {
    const where = `peer ${i + 1}`;
    const p = record(raw, where);
    onlyFields(p, ['publicKey', 'remove', 'psk', 'allowedIps'], where);
    const publicKey = p['publicKey'];
    checkPublicKeyText(`${where} public key`, publicKey as string);
    if (p['remove'] !== undefined) {
      if (p['remove'] !== true || Object.keys(p).length !== 2) throw invalid(`${where}: remove stands alone`);
      return { publicKey: publicKey as string, remove: true };
    }
    let presharedKey: Uint8Array | undefined;
    const psk = p['psk'];
    if (psk !== undefined) {
      if (typeof psk !== 'number' || !Number.isInteger(psk) || psk < 0 || (psk + 1) * KEY_BYTES > bytes.length || used.has(psk)) {
        throw invalid(`${where} psk: expected the index of an unused 32-byte key in the request`);
      }
      used.add(psk);
      presharedKey = bytes.slice(psk * KEY_BYTES, (psk + 1) * KEY_BYTES);
      if (presharedKey.every((b) => b === 0)) throw invalid(`${where} psk: all zero`);
    }
    let allowedIps: string[] | undefined;
    const ips = p['allowedIps'];
    if (ips !== undefined) {
      if (!Array.isArray(ips) || ips.length > MAX_ALLOWED_IPS) throw invalid(`${where} allowed-ips: expected a list of at most ${MAX_ALLOWED_IPS} prefixes`);
      allowedIps = ips.map((ip: unknown, j) => {
        if (typeof ip !== 'string' || ip.length > 43) throw invalid(`${where} allowed-ip ${j + 1}: expected a prefix`);
        return canonicalCidr(`${where} allowed-ip ${j + 1}`, ip);
      });
    }
    if (presharedKey === undefined && allowedIps === undefined) throw invalid(`${where}: expected remove, psk or allowed-ips`);
    return { publicKey: publicKey as string, ...(presharedKey === undefined ? {} : { presharedKey }), ...(allowedIps === undefined ? {} : { allowedIps }) };
  });
  if (used.size * KEY_BYTES !== bytes.length) throw invalid('set request: carries PSK bytes no peer uses');
  return peers;
}

/**
 * The frame of a `set` as the relay sends it: the changes without their PSKs, and the
 * PSKs side by side in one array (the caller wipes it after sending). Only what the
 * broker accepts: remove, a PSK, allowed-ips.
 */
export function setRequest(iface: string, peers: readonly WgPeerChange[]): { header: object; bytes: Uint8Array } {
  const keys: Uint8Array[] = [];
  const changes = peers.map((p, i) => {
    if (p.remove === true) return { publicKey: p.publicKey, remove: true };
    if (p.presharedKey === null || p.endpoint !== undefined || p.persistentKeepalive !== undefined) {
      throw new PqpskError('INTERNAL', 'the relay asked its broker for a change it does not make');
    }
    // PSKs travel packed side by side: one of another length would shift every later one.
    if (p.presharedKey !== undefined) checkLength(`peer ${i + 1} PSK`, p.presharedKey, KEY_BYTES);
    const psk = p.presharedKey === undefined ? {} : { psk: keys.push(p.presharedKey) - 1 };
    return { publicKey: p.publicKey, ...psk, ...(p.allowedIps === undefined ? {} : { allowedIps: p.allowedIps }) };
  });
  const bytes = new Uint8Array(keys.length * KEY_BYTES);
  keys.forEach((k, i) => bytes.set(k, i * KEY_BYTES));
  return { header: { op: 'set', iface, peers: changes }, bytes };
}

function record(value: unknown, label: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${label}: expected an object`);
  return value as Record<string, unknown>;
}

function onlyFields(value: Record<string, unknown>, allowed: readonly string[], label: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw invalid(`${label}: unexpected field`);
}

function invalid(message: string): PqpskError {
  return new PqpskError('INVALID_INPUT', message);
}
