/**
 * What each error code means to everyone who acts on it, in one table: the gRPC status a
 * relay answers with and what it tells the remote peer, the label of the relay's
 * registration metric, the exit code of a command, and whether the client tries again.
 * src/rpc/status.ts, src/server/relay.ts, src/cli/exit-codes.ts and the client's retry
 * loop read their column here, so they cannot disagree. Pure: no gRPC import (the status
 * is named as the gRPC spec names it; src/rpc/status.ts turns the name into its number).
 */
import { isPqpskError, type PqpskErrorCode } from './errors.js';

/** The CLI's exit codes, for scripts and wg-quick hooks (README, "Status and exit codes"). */
export const EXIT_OK = 0;
/** The operation ran and gave up (e.g. negotiation exhausted its attempts); the tunnel works. */
export const EXIT_GAVE_UP = 1;
/** Usage or local set-up error: fix something here before trying again. */
export const EXIT_USAGE = 2;
/** Gave up, and the tunnel does not work on any key pqpsk could put it on. */
export const EXIT_TUNNEL_DOWN = 3;

/** The gRPC statuses a relay answers with, as the gRPC spec names them. */
export type GrpcStatusName =
  | 'INVALID_ARGUMENT'
  | 'UNIMPLEMENTED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'DEADLINE_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** How a failed registration is counted (`result` label): the lower-case status name. */
export type FailureLabel = Lowercase<GrpcStatusName>;

/** The one message for every authentication failure: unknown and wrong parents look alike. */
export const PERMISSION_DENIED_DETAILS = 'the parent key does not match the tunnel this request came through';
/** A bug or an error we did not expect: the client learns nothing more. */
export const INTERNAL_DETAILS = 'internal error while registering the ephemeral peer';
/** The relay has bound its port but is not open yet, and the call waited as long as it may. */
export const STARTING_DETAILS = 'relay is starting, retry in a few seconds';
/** The relay is shutting down and takes no new registrations. */
export const STOPPING_DETAILS = 'relay is shutting down';
/**
 * A fault of the relay's own (`wg` failed, its state file cannot be written or is damaged,
 * its HQC workers did not start): the client is told it was not its request, and nothing
 * more; the message names local paths and commands and stays in the relay's log.
 */
export const LOCAL_FAULT_DETAILS = 'the relay hit a fault of its own (logged there), not in the request; retry later';
const DEADLINE_DETAILS = 'deadline exceeded';

/** One row of the table. */
export interface ErrorMeaning {
  /** The status a relay answers a failed registration with. */
  readonly grpc: GrpcStatusName;
  /**
   * What the remote peer reads: `null` for the error's own message (written by our
   * validation: it names fields and sizes, never bytes), else this fixed text.
   */
  readonly details: string | null;
  /** The relay's metric label for a registration that failed so. */
  readonly metric: FailureLabel;
  /** The exit code of a command that ends on it. */
  readonly exit: number;
  /** Whether the client tries again after an attempt failed so (false: retrying cannot help). */
  readonly retry: boolean;
}

function row(grpc: GrpcStatusName, details: string | null, exit: number, retry: boolean): ErrorMeaning {
  return Object.freeze({ grpc, details, metric: grpc.toLowerCase() as FailureLabel, exit, retry });
}

/** Every code's meaning; a Record, so a new code without a row does not compile. */
export const ERROR_TABLE: Readonly<Record<PqpskErrorCode, ErrorMeaning>> = Object.freeze({
  INVALID_INPUT: row('INVALID_ARGUMENT', null, EXIT_USAGE, false),
  UNSUPPORTED_ALGORITHM: row('INVALID_ARGUMENT', null, EXIT_USAGE, false),
  UNSUPPORTED_FEATURE: row('UNIMPLEMENTED', null, EXIT_GAVE_UP, true),
  KEM_FAILURE: row('INTERNAL', INTERNAL_DETAILS, EXIT_GAVE_UP, true),
  PERMISSION_DENIED: row('PERMISSION_DENIED', PERMISSION_DENIED_DETAILS, EXIT_GAVE_UP, true),
  RESOURCE_EXHAUSTED: row('RESOURCE_EXHAUSTED', null, EXIT_GAVE_UP, true),
  WG_FAILURE: row('INTERNAL', LOCAL_FAULT_DETAILS, EXIT_GAVE_UP, true),
  NOT_FOUND: row('INTERNAL', LOCAL_FAULT_DETAILS, EXIT_USAGE, false),
  RPC_FAILURE: row('INTERNAL', INTERNAL_DETAILS, EXIT_GAVE_UP, true),
  TIMEOUT: row('DEADLINE_EXCEEDED', DEADLINE_DETAILS, EXIT_GAVE_UP, true),
  VERIFY_FAILED: row('INTERNAL', INTERNAL_DETAILS, EXIT_GAVE_UP, true),
  TUNNEL_DOWN: row('INTERNAL', INTERNAL_DETAILS, EXIT_TUNNEL_DOWN, true),
  // The watcher tries again later; a one-shot negotiation stops at once, its tunnel down.
  ROLLBACK_FAILED: row('INTERNAL', INTERNAL_DETAILS, EXIT_TUNNEL_DOWN, true),
  OUTSIDE_TUNNEL: row('INTERNAL', INTERNAL_DETAILS, EXIT_USAGE, false),
  SETUP: row('INTERNAL', LOCAL_FAULT_DETAILS, EXIT_USAGE, false),
  STATE_DAMAGED: row('INTERNAL', LOCAL_FAULT_DETAILS, EXIT_USAGE, false),
  STARTING: row('UNAVAILABLE', STARTING_DETAILS, EXIT_GAVE_UP, true),
  STOPPING: row('UNAVAILABLE', STOPPING_DETAILS, EXIT_GAVE_UP, true),
  // A bug: retrying would meet it again; the run gave up rather than being misused.
  INTERNAL: row('INTERNAL', INTERNAL_DETAILS, EXIT_GAVE_UP, false),
});

/** The row for any thrown value: what is not ours counts as a bug (INTERNAL). */
export function meaningOf(err: unknown): ErrorMeaning {
  return ERROR_TABLE[isPqpskError(err) ? err.code : 'INTERNAL'];
}
