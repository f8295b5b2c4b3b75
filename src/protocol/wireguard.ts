/**
 * WireGuard's own constants that pqpsk depends on — key sizes and timers — as the WireGuard
 * paper (section 5.4, the Noise construction; section 6, "Timers") and every implementation
 * define them, kept in one place (as wireguard-go keeps its own in one file).
 */

/** Every WireGuard private and public key (Curve25519) is 32 bytes. */
export const KEY_BYTES = 32;

/** The pre-shared key mixed into the handshake is 32 bytes too. */
export const PSK_BYTES = 32;

/** REJECT_AFTER_TIME: a session older than this carries no traffic; a new handshake is needed. */
export const REJECT_AFTER_MS = 180_000;
