/**
 * gRPC server glue for EphemeralPeer. The relay logic (src/server/) sees a typed request
 * and the caller's address; it never sees grpc-js. Every call is answered exactly once,
 * errors are mapped to safe statuses in src/rpc/status.ts, because grpc-js would send a
 * thrown error's message to the remote peer verbatim.
 */
import * as grpc from '@grpc/grpc-js';
import { PqpskError } from '../errors.js';
import { ephemeralPeerService, registerPeerMethod, type ReceivedRegisterRequest, type RegisterResponseInput } from './proto.js';
import { statusForError } from './status.js';

/** What a handler knows about the call besides the request. */
export interface RegisterCallContext {
  /** The caller's IP address (no port), as the relay's kernel saw it. */
  readonly peerAddress: string;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** How many bytes the request took on the wire (so the relay can hold it to its algorithms' needs). */
  readonly requestBytes: number | undefined;
}

export type RegisterHandler = (request: ReceivedRegisterRequest, context: RegisterCallContext) => Promise<RegisterResponseInput>;

export interface RpcServerOptions {
  /** Requests larger than this are refused by grpc-js with RESOURCE_EXHAUSTED before decoding. */
  readonly maxRequestBytes: number;
  /** Sees every handler failure with its full error (for the relay's own log). */
  readonly onHandlerError?: (err: unknown, context: RegisterCallContext) => void;
}

export interface RpcServer {
  /** The bound address, `host:port` (port resolved when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /** Stop accepting; resolve once in-flight calls have been answered. */
  shutdown(): Promise<void>;
  /** Cancel everything now. */
  forceShutdown(): void;
}

/** Parse grpc-js's `getPeer()` text (`ip:port`, IPv6 unbracketed) into the bare IP. */
export function peerIp(peer: string): string {
  const unbracketed = peer.startsWith('[') ? peer.slice(1).replace(/\](:\d+)?$/, '') : peer.replace(/:\d+$/, '');
  return unbracketed.startsWith('::ffff:') && unbracketed.includes('.') ? unbracketed.slice(7) : unbracketed;
}

const UNDECODABLE: ReceivedRegisterRequest = Object.freeze({ undecodable: true });

/**
 * Decode a request's bytes as the server does: a message that is not a RegisterPeerV1
 * request becomes the undecodable marker instead of an exception. grpc-js answers a
 * throwing deserializer with INTERNAL before any handler runs, which would keep garbage
 * out of the relay's log and metrics and make it look like a relay fault; with the marker
 * the relay's validation refuses it as INVALID_ARGUMENT. (A message that fails to
 * decompress never gets here: grpc-js answers that itself.)
 */
export function decodeRegisterRequest(bytes: Buffer): ReceivedRegisterRequest {
  try {
    return registerPeerMethod().requestDeserialize(bytes);
  } catch {
    return UNDECODABLE;
  }
}

/**
 * The EphemeralPeer service with the deserializer above in place of the loader's throwing
 * one, noting in `sizes` how many bytes each decoded request took on the wire.
 */
function serviceDefinition(sizes: WeakMap<object, number>): grpc.ServiceDefinition {
  const service = ephemeralPeerService();
  const method = service['RegisterPeerV1'];
  if (method === undefined) throw new Error('EphemeralPeer service without RegisterPeerV1');
  const measured = (bytes: Buffer): ReceivedRegisterRequest => {
    const decoded = decodeRegisterRequest(bytes);
    if (decoded !== UNDECODABLE) sizes.set(decoded, bytes.length);
    return decoded;
  };
  return { ...service, RegisterPeerV1: { ...method, requestDeserialize: measured } };
}

/** Start the EphemeralPeer service on `address` (`ip:port`). Fails with SETUP when it cannot bind. */
export async function startRpcServer(address: string, handler: RegisterHandler, options: RpcServerOptions): Promise<RpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRequestBytes,
    'grpc.max_send_message_length': 64 * 1024,
  });
  // Each decoded request's encoded size, keyed weakly by the decoded object (nothing outlives the call).
  const sizes = new WeakMap<object, number>();
  server.addService(serviceDefinition(sizes), {
    RegisterPeerV1: (
      call: grpc.ServerUnaryCall<ReceivedRegisterRequest, RegisterResponseInput>,
      callback: grpc.sendUnaryData<RegisterResponseInput>,
    ) => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const context: RegisterCallContext = {
        peerAddress: peerIp(call.getPeer()),
        signal: controller.signal,
        requestBytes: sizes.get(call.request),
      };
      let answered = false;
      const answer = (err: grpc.ServerErrorResponse | null, value?: RegisterResponseInput): void => {
        if (answered) return;
        answered = true;
        callback(err, value);
      };
      handler(call.request, context).then(
        (response) => answer(null, response),
        (err: unknown) => {
          options.onHandlerError?.(err, context);
          const { code, details } = statusForError(err);
          answer({ name: 'PqpskError', message: details, code, details });
        },
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) reject(new PqpskError('SETUP', `cannot listen on ${address}: ${bindReason(err)}`, { cause: err }));
      else resolve(boundPort);
    });
  });
  const host = address.slice(0, address.lastIndexOf(':'));
  return {
    address: `${host}:${port}`,
    port,
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceShutdown: () => server.forceShutdown(),
  };
}

function bindReason(err: Error): string {
  const text = err.message;
  if (/EADDRINUSE/.test(text)) return 'address already in use';
  if (/EADDRNOTAVAIL/.test(text)) return 'no interface on this machine has that address';
  if (/EACCES/.test(text)) return 'permission denied';
  return text.split('\n')[0] ?? 'bind failed';
}
