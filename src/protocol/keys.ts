/**
 * Facts about WireGuard keys that the pure layers need; the encodings themselves live in
 * src/wg/keys.ts, next to the `wg` text they mirror.
 */

/** A short, non-secret tag for logs: the first 8 base64 characters of a public key. */
export function keyTag(publicKeyBase64: string): string {
  return publicKeyBase64.slice(0, 8);
}
