/**
 * The one place that turns pqpsk errors into gRPC statuses and back; which status and
 * text each code gets is its row of the error table (src/error-table.ts).
 *
 * grpc-js sends a handler error's `details` to the remote peer verbatim, so the server
 * side only ever sends fixed strings or messages our own validation wrote (which name
 * fields and sizes, never bytes). Anything else goes out with a fixed text: a relay that
 * is starting or stopping as UNAVAILABLE saying which, a fault of the relay's own (`wg`,
 * its state file) and a bug as INTERNAL saying which; the full error stays in the relay's
 * own log.
 */
import type { status as GrpcStatus } from '@grpc/grpc-js';
import { meaningOf } from '../error-table.js';
import { PqpskError, messageOf, type PqpskErrorCode } from '../errors.js';

export { LOCAL_FAULT_DETAILS, PERMISSION_DENIED_DETAILS, STARTING_DETAILS, STOPPING_DETAILS } from '../error-table.js';

/**
 * The gRPC status codes this module uses, as the gRPC protocol numbers them. Written out
 * rather than imported: every client loads this module before it negotiates, and a value
 * from grpc-js would load the whole library then, before the interface is even read
 * (rpc/client.ts loads it beside that work instead). `satisfies` holds each number to
 * grpc-js's own.
 */
const Status = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const satisfies { readonly [K in keyof typeof GrpcStatus]?: (typeof GrpcStatus)[K] };
type Status = GrpcStatus;

export interface StatusReply {
  readonly code: Status;
  readonly details: string;
}

/** Server side: the status and safe details a failed handler answers with (the error table's row). */
export function statusForError(err: unknown): StatusReply {
  const meaning = meaningOf(err);
  return { code: Status[meaning.grpc], details: meaning.details ?? messageOf(err) };
}

/**
 * How far a failed call got, as the user can act on it: nothing listening (`refused`),
 * no route (`unreachable`), no answer at all before the deadline (`no-answer`: the
 * connection never came up — a dropped SYN, a relay that does not forward), a connection
 * that was lost (`dropped`), or an answer from the relay (`answered`).
 */
export type CallOutcome = 'refused' | 'unreachable' | 'no-answer' | 'dropped' | 'answered';

/**
 * A failed call to a config service: the message names the service and says what to
 * check, never a gRPC status name or the library's own wording; `outcome` lets a caller
 * add advice it alone knows (that the address was a default, say).
 */
export class ServiceCallError extends PqpskError {
  readonly service: string;
  readonly outcome: CallOutcome;

  constructor(code: PqpskErrorCode, service: string, outcome: CallOutcome, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.service = service;
    this.outcome = outcome;
  }
}

/** What a failed call looked like from here: its status, and whether a connection ever came up. */
export interface FailedCall {
  readonly code: number;
  readonly details: string;
  /** The HTTP/2 connection to the service was established at some point of the call. */
  readonly connected: boolean;
  /** How long the call was given, ms. */
  readonly budgetMs: number;
}

/**
 * Texts the gRPC library writes itself (not the relay) when a connection fails or breaks;
 * they explain nothing to a user, so only the system error in them is kept.
 */
const LOCAL_FAILURE = /No connection established|Connection dropped|Call dropped|RST_STREAM|Failed to (?:parse|start)|Waiting for LB pick|Deadline exceeded after|Cancelled on client/i;

/** Plain words for what the relay itself answered, by status. */
const ANSWERS: ReadonlyMap<number, string> = new Map([
  [Status.INVALID_ARGUMENT, 'rejected the request'],
  [Status.PERMISSION_DENIED, 'refused the request'],
  [Status.RESOURCE_EXHAUSTED, 'is busy, try again later'],
  [Status.UNIMPLEMENTED, 'does not offer this request (is it a pqpsk or Mullvad config service?)'],
  [Status.UNAVAILABLE, 'is not available'],
  [Status.INTERNAL, 'failed to serve the request'],
  [Status.DEADLINE_EXCEEDED, 'ran out of time'],
]);

/**
 * Client side: turn a failed call to `service` into a ServiceCallError that says what
 * happened in the user's words. The relay's `details` are remote text; they are kept
 * (trimmed, control characters removed) only when the relay itself answered, labelled as
 * its words; what the gRPC library wrote stays in `cause` for debugging.
 */
export function errorForStatus(service: string, call: FailedCall, cause?: unknown): ServiceCallError {
  const options = cause === undefined ? {} : { cause };
  const within = `${Math.max(0, Math.round(call.budgetMs))} ms`;
  const system = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL)\b/.exec(call.details)?.[1];
  const local = LOCAL_FAILURE.test(call.details) || call.code === Status.CANCELLED;
  if (!call.connected && (system === 'ECONNREFUSED' || system === 'ECONNRESET')) {
    const how = system === 'ECONNREFUSED' ? 'connection refused' : 'connection reset';
    return new ServiceCallError('RPC_FAILURE', service, 'refused', `nothing listening on ${service} (${how}) — is \`pqpsk server\` running there?`, options);
  }
  if (!call.connected && system !== undefined) {
    return new ServiceCallError('RPC_FAILURE', service, 'unreachable', `no route to ${service} (host or network unreachable) — is the tunnel up?`, options);
  }
  if (/Received message larger than max/.test(call.details)) {
    // Either end may have refused it (the relay a request, this client an answer).
    return new ServiceCallError('RESOURCE_EXHAUSTED', service, 'answered', `a message to or from ${service} was larger than allowed`, options);
  }
  if (call.code === Status.DEADLINE_EXCEEDED && (!call.connected || local)) {
    return call.connected
      ? new ServiceCallError('TIMEOUT', service, 'no-answer', `${service} accepted the connection but gave no answer within ${within}`, options)
      : new ServiceCallError('TIMEOUT', service, 'no-answer', `no answer at all from ${service} within ${within}`, options);
  }
  if (!call.connected || local) {
    return new ServiceCallError('RPC_FAILURE', service, 'dropped', `the connection to ${service} ${call.connected ? 'broke' : 'failed'} before the relay answered`, options);
  }
  const said = sanitizeRemoteText(call.details);
  const message = `relay at ${service} ${ANSWERS.get(call.code) ?? 'answered with an error'}${said ? `: ${said}` : ''}`;
  switch (call.code) {
    case Status.DEADLINE_EXCEEDED:
      return new ServiceCallError('TIMEOUT', service, 'answered', message, options);
    case Status.PERMISSION_DENIED:
      return new ServiceCallError('PERMISSION_DENIED', service, 'answered', message, options);
    case Status.RESOURCE_EXHAUSTED:
      return new ServiceCallError('RESOURCE_EXHAUSTED', service, 'answered', message, options);
    default:
      return new ServiceCallError('RPC_FAILURE', service, 'answered', message, options);
  }
}

/** Remote text is untrusted: printable ASCII only, bounded length. */
export function sanitizeRemoteText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
