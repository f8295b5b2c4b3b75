/**
 * The one error family of pqpsk. Every failure that crosses a module
 * boundary is a PqpskError with a stable string `code`; what a code means (gRPC status,
 * metric label, exit code, retry) is one row of src/error-table.ts, read by `code`
 * alone, so a message is free to change without changing behaviour.
 *
 * Messages must never contain secret bytes (keys, PSKs, shared secrets) nor a child
 * process's output: they may reach a log, a terminal or — through gRPC — a remote peer.
 */
export type PqpskErrorCode =
  /** A field has the wrong length, type or value; the message names the field. */
  | 'INVALID_INPUT'
  /** A KEM algorithm name that pqpsk does not implement. */
  | 'UNSUPPORTED_ALGORITHM'
  /** A feature of the protocol that this build does not offer (e.g. DAITA). */
  | 'UNSUPPORTED_FEATURE'
  /** A KEM operation failed (e.g. HQC's explicit rejection of a tampered ciphertext). */
  | 'KEM_FAILURE'
  /** The caller may not act for the claimed parent peer. */
  | 'PERMISSION_DENIED'
  /** A bounded resource (in-flight cap, rate limit, size cap) is exhausted. */
  | 'RESOURCE_EXHAUSTED'
  /** `wg` (or another child process) failed; the message carries no secret. */
  | 'WG_FAILURE'
  /** The named WireGuard interface or peer does not exist. */
  | 'NOT_FOUND'
  /** A remote service failed or answered something unusable. */
  | 'RPC_FAILURE'
  /** A deadline passed. */
  | 'TIMEOUT'
  /** The switched tunnel could not be shown to work. */
  | 'VERIFY_FAILED'
  /** Gave up, and the tunnel carries no traffic on any key pqpsk could put it on. */
  | 'TUNNEL_DOWN'
  /** A failed switch was rolled back and the tunnel did not come back on the key it had. */
  | 'ROLLBACK_FAILED'
  /** The route to a config service leaves the tunnel the request is meant for. */
  | 'OUTSIDE_TUNNEL'
  /** Local set-up is unusable: not root, a tool missing, an address in use. */
  | 'SETUP'
  /** A state file of ours exists but does not hold what we write (damaged or edited). */
  | 'STATE_DAMAGED'
  /** A service is still starting and not serving yet; the same call works a moment later. */
  | 'STARTING'
  /** A service is shutting down and takes no new work. */
  | 'STOPPING'
  /** A bug: an invariant of our own code does not hold. */
  | 'INTERNAL';

export class PqpskError extends Error {
  override readonly name = 'PqpskError';
  readonly code: PqpskErrorCode;

  constructor(code: PqpskErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Narrowing helper: is `err` one of ours, optionally with a given code. */
export function isPqpskError(err: unknown, code?: PqpskErrorCode): err is PqpskError {
  return err instanceof PqpskError && (code === undefined || err.code === code);
}

/** The message a user may read for any thrown value: ours, or a fixed text for anything else. */
export function messageOf(err: unknown): string {
  return isPqpskError(err) ? err.message : 'unexpected error';
}

/**
 * Labelled length check at the edge, where bytes arrive from outside: the message names the field and the
 * sizes, never the bytes. `label` reads like "ML-KEM-1024 public key".
 */
export function checkLength(label: string, bytes: Uint8Array, expected: number): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected ${expected} bytes, got ${describe(bytes)}`);
  }
  if (bytes.length !== expected) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected ${expected} bytes, got ${bytes.length}`);
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
