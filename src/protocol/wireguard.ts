/**
 * WireGuard's own timing constants that pqpsk's rules depend on, as the WireGuard paper
 * (section 6, "Timers") and every implementation define them, kept in one place.
 */

/** REJECT_AFTER_TIME: a session older than this carries no traffic; a new handshake is needed. */
export const REJECT_AFTER_MS = 180_000;
