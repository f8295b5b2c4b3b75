/**
 * The one mapping between pqpsk errors and gRPC statuses, so no other module decides what a remote peer is told.
 *
 * grpc-js sends a handler error's `details` to the remote peer verbatim, so the server
 * side only ever sends fixed strings or messages our own validation wrote (which name
 * fields and sizes, never bytes). Anything else goes out with a fixed text: a relay that
 * is starting or stopping as UNAVAILABLE saying which, a fault of the relay's own (`wg`,
 * its state file) and a bug as INTERNAL saying which; the full error stays in the relay's
 * own log.
 */
import { status as Status } from '@grpc/grpc-js';
import { PqpskError, isPqpskError, type PqpskErrorCode } from '../errors.js';

/** Codes whose messages are written by our validation and are safe to show a client. */
const CLIENT_VISIBLE: ReadonlyMap<PqpskErrorCode, Status> = new Map([
  ['INVALID_INPUT', Status.INVALID_ARGUMENT],
  ['UNSUPPORTED_ALGORITHM', Status.INVALID_ARGUMENT],
  ['UNSUPPORTED_FEATURE', Status.UNIMPLEMENTED],
  ['RESOURCE_EXHAUSTED', Status.RESOURCE_EXHAUSTED],
]);

/** The one message for every authentication failure: unknown and wrong parents look alike. */
export const PERMISSION_DENIED_DETAILS = 'the parent key does not match the tunnel this request came through';
const INTERNAL_DETAILS = 'internal error while registering the ephemeral peer';
/** The relay has bound its port but is not open yet, and the call waited as long as it may. */
export const STARTING_DETAILS = 'relay is starting, retry in a few seconds';
/** The relay is shutting down and takes no new registrations. */
export const STOPPING_DETAILS = 'relay is shutting down';
/**
 * A fault of the relay's own (`wg` failed, its state file cannot be written, its HQC
 * workers did not start): the client is told it was not its request, and nothing more.
 */
export const LOCAL_FAULT_DETAILS = 'the relay hit a fault of its own (logged there), not in the request; retry later';

/** Codes of faults on the relay's side; their messages name local paths and commands and stay in its log. */
const LOCAL_FAULTS: ReadonlySet<PqpskErrorCode> = new Set(['SETUP', 'WG_FAILURE', 'NOT_FOUND']);

export interface StatusReply {
  readonly code: Status;
  readonly details: string;
}

/** Server side: the status and safe details a failed handler answers with. */
export function statusForError(err: unknown): StatusReply {
  if (isPqpskError(err)) {
    const visible = CLIENT_VISIBLE.get(err.code);
    if (visible !== undefined) return { code: visible, details: err.message };
    if (err.code === 'PERMISSION_DENIED') return { code: Status.PERMISSION_DENIED, details: PERMISSION_DENIED_DETAILS };
    if (err.code === 'TIMEOUT') return { code: Status.DEADLINE_EXCEEDED, details: 'deadline exceeded' };
    if (err.code === 'STARTING') return { code: Status.UNAVAILABLE, details: STARTING_DETAILS };
    if (err.code === 'STOPPING') return { code: Status.UNAVAILABLE, details: STOPPING_DETAILS };
    if (LOCAL_FAULTS.has(err.code)) return { code: Status.INTERNAL, details: LOCAL_FAULT_DETAILS };
  }
  return { code: Status.INTERNAL, details: INTERNAL_DETAILS };
}

/**
 * Client side: turn a failed call into a PqpskError. The relay's `details` are remote
 * text; they are kept (trimmed, control characters removed) so the user learns what the
 * relay objected to, labelled as the relay's words.
 */
export function errorForStatus(code: number, details: string, cause?: unknown): PqpskError {
  const said = sanitizeRemoteText(details);
  const name = Status[code] ?? `status ${code}`;
  const message = `relay answered ${name}${said ? `: ${said}` : ''}`;
  const options = cause === undefined ? {} : { cause };
  switch (code) {
    case Status.DEADLINE_EXCEEDED:
      return new PqpskError('TIMEOUT', message, options);
    case Status.PERMISSION_DENIED:
      return new PqpskError('PERMISSION_DENIED', message, options);
    case Status.RESOURCE_EXHAUSTED:
      return new PqpskError('RESOURCE_EXHAUSTED', message, options);
    default:
      return new PqpskError('RPC_FAILURE', message, options);
  }
}

/** Remote text is untrusted: printable ASCII only, bounded length. */
export function sanitizeRemoteText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
