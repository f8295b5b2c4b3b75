/**
 * The relay's defaults and fixed times, in a module that imports only WireGuard's constants:
 * `pqpsk --help` shows them, and the command line loads its help text without loading the relay.
 */
import { REJECT_AFTER_MS } from '../protocol/wireguard.js';

/** An ephemeral that never handshakes is removed after 120 s: a client that crashed mid-switch must not leave a peer behind for long. */
export const PENDING_TIMEOUT_MS = 120_000;
/** Default `--ephemeral-ttl`: a handshook ephemeral with no handshake for this long goes. */
export const DEFAULT_EPHEMERAL_TTL_MS = 24 * 3_600_000;
/**
 * Default `--max-inflight`: one full batch (MAX_BATCH in registration-batch.ts).
 * Registrations wait for the interface lock and go out together (one read, one `wg set`,
 * one book write), and a batch's time is mostly those steps, whatever its size. Why 256:
 * the herd of clients that renegotiates after a relay restart fills the batches it is
 * let into; in bench runs with 2 000 clients 99 % were healed in 35 s at 256, 43 s at
 * 128, and after a minute only 69 % at 64. Bounded memory: 256 × 535 KB (the largest
 * valid request) = 137 MB; requests with the default KEMs are about 10 KB.
 */
export const DEFAULT_MAX_INFLIGHT = 256;
/** The default state directory of `pqpsk server`. */
export const DEFAULT_STATE_DIR = '/var/lib/pqpsk';
/**
 * The shortest `--ephemeral-ttl` accepted: WireGuard's REJECT_AFTER_TIME. The TTL counts
 * time since the last handshake, and WireGuard re-handshakes only every two minutes
 * (REKEY_AFTER_TIME) under traffic, so a shorter TTL would remove a busy tunnel's
 * ephemeral between two handshakes.
 */
export const MIN_EPHEMERAL_TTL_MS = REJECT_AFTER_MS;
/**
 * How long a call that arrives while the relay opens waits for it. The port is bound
 * before the relay has read its interface and warmed its KEMs (a second instance must
 * fail before touching the interface); opening — one read of the interface and the book,
 * the recovery pass, the KEM warm-up — takes a fraction of a second on the test bed's
 * relay, so 5 s covers a slow start with room to spare, and a call that waited it out
 * still has its answer inside the first attempt's deadline of the published client (8 s). A call still waiting then is refused
 * UNAVAILABLE, "relay is starting".
 */
export const OPENING_WAIT_MS = 5000;
