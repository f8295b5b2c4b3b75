/**
 * WireGuard public keys cross two representations: 32 raw bytes on the wire (the
 * protocol's `bytes` fields) and 44-character base64 in `wg`'s text. Conversions are
 * checked here, once, with labelled errors.
 */
import { PqpskError, checkLength } from '../errors.js';

/** Length of every WireGuard key (Curve25519), public or private, and of the PSK. */
export const WG_KEY_BYTES = 32;

const BASE64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Decode a base64 WireGuard key, rejecting anything that is not exactly 32 bytes. */
export function wgKeyFromBase64(label: string, text: string): Uint8Array {
  if (!BASE64_KEY.test(text)) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected a 44-character base64 WireGuard key, got ${text.length} characters`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Encode 32 key bytes as `wg` prints them. */
export function wgKeyToBase64(label: string, bytes: Uint8Array): string {
  checkLength(label, bytes, WG_KEY_BYTES);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A short, non-secret tag for logs: the first 8 base64 characters of a public key. */
export function keyTag(publicKeyBase64: string): string {
  return publicKeyBase64.slice(0, 8);
}
