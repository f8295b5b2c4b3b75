/**
 * Facts about WireGuard keys that the pure layers need; the encodings themselves live in
 * src/wg/keys.ts, next to the `wg` text they mirror.
 */

/** Length of every WireGuard key (Curve25519), public or private, and of the PSK. */
export const WG_KEY_BYTES = 32;

/** A short, non-secret tag for logs: the first 8 base64 characters of a public key. */
export function keyTag(publicKeyBase64: string): string {
  return publicKeyBase64.slice(0, 8);
}
