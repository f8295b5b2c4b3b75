/**
 * WireGuard key encodings and Curve25519 helpers.
 *
 * Secret keys are only ever held as bytes: the base64 codec here works on Uint8Arrays
 * so that a key's text form (what `wg` reads and prints) can be wiped with `fill(0)`,
 * unlike a JS string. Wiping is best effort: the engine may have copied bytes
 * elsewhere, and OpenSSL keeps its own copy inside a KeyObject until it is collected.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { PqpskError, checkLength } from '../errors.js';
import { KEY_BYTES } from '../protocol/wireguard.js';

/** Length of a key in WireGuard's base64 text form. */
export const KEY_BASE64_CHARS = 44;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ALPHABET_BYTES = new TextEncoder().encode(ALPHABET);
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET_BYTES.length; i++) DECODE[ALPHABET_BYTES[i]!] = i;
const PAD = 0x3d; // '='

/**
 * A 32-byte key as WireGuard's 44 base64 characters, as bytes (so a secret's text form
 * can be wiped). `newline` appends '\n', which `wg` accepts at the end of a key file.
 */
export function encodeKeyBase64(label: string, key: Uint8Array, newline = false): Uint8Array {
  checkLength(label, key, KEY_BYTES);
  const out = new Uint8Array(KEY_BASE64_CHARS + (newline ? 1 : 0));
  let o = 0;
  for (let i = 0; i < 30; i += 3) {
    const n = (key[i]! << 16) | (key[i + 1]! << 8) | key[i + 2]!;
    out[o++] = ALPHABET_BYTES[(n >> 18) & 63]!;
    out[o++] = ALPHABET_BYTES[(n >> 12) & 63]!;
    out[o++] = ALPHABET_BYTES[(n >> 6) & 63]!;
    out[o++] = ALPHABET_BYTES[n & 63]!;
  }
  const n = (key[30]! << 16) | (key[31]! << 8);
  out[o++] = ALPHABET_BYTES[(n >> 18) & 63]!;
  out[o++] = ALPHABET_BYTES[(n >> 12) & 63]!;
  out[o++] = ALPHABET_BYTES[(n >> 6) & 63]!;
  out[o++] = PAD;
  if (newline) out[o] = 0x0a;
  return out;
}

/**
 * Decodes WireGuard's 44-character base64 key text (bytes, surrounding ASCII whitespace
 * ignored) into 32 bytes. Errors name the field and the length only, never the text.
 */
export function decodeKeyBase64(label: string, text: Uint8Array): Uint8Array {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start]!)) start++;
  while (end > start && isSpace(text[end - 1]!)) end--;
  const len = end - start;
  if (len !== KEY_BASE64_CHARS || text[end - 1] !== PAD) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected ${KEY_BASE64_CHARS} base64 characters, got ${len}`);
  }
  const out = new Uint8Array(KEY_BYTES);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = start; i < end - 1; i++) {
    const v = DECODE[text[i]!]!;
    if (v < 0) {
      out.fill(0);
      throw new PqpskError('INVALID_INPUT', `${label}: not base64`);
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // 43 symbols carry 258 bits: the last 2 must be zero in a canonical encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) {
    out.fill(0);
    acc = 0;
    throw new PqpskError('INVALID_INPUT', `${label}: not a canonical base64 key`);
  }
  acc = 0;
  return out;
}

/** Public-key text check at the edge: `wg` prints and accepts exactly this form. */
export function isPublicKeyText(text: string): boolean {
  return text.length === KEY_BASE64_CHARS && isCanonicalKey((i) => text.charCodeAt(i));
}

/**
 * `isPublicKeyText` on `bytes[start, end)`, so a parser can check every key of a
 * `wg show` output before (or without) turning it into a string.
 */
export function isPublicKeyBytes(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start === KEY_BASE64_CHARS && isCanonicalKey((i) => bytes[start + i] ?? -1);
}

/**
 * 43 base64 digits and '=': 43 digits carry 258 bits, so a canonical 32-byte key leaves
 * the last digit's two low bits zero (its value is a multiple of 4). Checked without
 * decoding: the relay checks every peer key of a `wg show` output.
 */
function isCanonicalKey(code: (i: number) => number): boolean {
  for (let i = 0; i < KEY_BASE64_CHARS - 1; i++) {
    const c = code(i);
    if (c < 0 || c > 255 || DECODE[c]! < 0) return false;
  }
  return (DECODE[code(KEY_BASE64_CHARS - 2)]! & 3) === 0 && code(KEY_BASE64_CHARS - 1) === PAD;
}

/** Throws a labelled INVALID_INPUT unless `text` is a WireGuard public key in base64. */
export function checkPublicKeyText(label: string, text: string): void {
  if (typeof text !== 'string' || !isPublicKeyText(text)) {
    const got = typeof text === 'string' ? `${text.length} characters` : typeof text;
    throw new PqpskError('INVALID_INPUT', `${label}: expected a ${KEY_BASE64_CHARS}-character base64 WireGuard key, got ${got}`);
  }
}

/** Base64 public-key text (from `wg` or a command line) to its 32 bytes, checked and labelled. */
export function publicKeyFromText(label: string, text: string): Uint8Array {
  checkPublicKeyText(label, text);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Public key bytes as the base64 text `wg` uses (public keys are not secret). */
export function publicKeyToText(key: Uint8Array): string {
  checkLength('public key', key, KEY_BYTES);
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('base64');
}

/**
 * Curve25519 clamping (RFC 7748 §5), as WireGuard applies it to a private key it is
 * given: reading the key back returns the clamped form. Returns a new array.
 */
export function clampPrivateKey(privateKey: Uint8Array): Uint8Array {
  checkLength('private key', privateKey, KEY_BYTES);
  const out = Uint8Array.from(privateKey);
  out[0]! &= 248;
  out[31]! &= 127;
  out[31]! |= 64;
  return out;
}

// PKCS#8 and SPKI DER prefixes for a raw X25519 key (RFC 8410 §7, §10).
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/** The WireGuard public key of a private key (X25519 base-point multiplication). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  checkLength('private key', privateKey, KEY_BYTES);
  const der = new Uint8Array(PKCS8_X25519_PREFIX.length + KEY_BYTES);
  der.set(PKCS8_X25519_PREFIX);
  der.set(privateKey, PKCS8_X25519_PREFIX.length);
  try {
    const keyObject = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
    return Uint8Array.from(spki.subarray(spki.length - KEY_BYTES));
  } finally {
    der.fill(0);
  }
}

/** A fresh, clamped WireGuard private key (32 bytes from OpenSSL's CSPRNG); caller wipes. */
export function generatePrivateKey(): Uint8Array {
  const { privateKey } = generateKeyPairSync('x25519', {
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  try {
    return clampPrivateKey(privateKey.subarray(privateKey.length - KEY_BYTES));
  } finally {
    privateKey.fill(0);
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
