/**
 * gRPC server glue for EphemeralPeer. The relay logic (src/server/) sees a typed request
 * and the caller's address; it never sees grpc-js. Every call is answered exactly once,
 * errors are mapped to safe statuses in src/rpc/status.ts, because grpc-js would send a
 * thrown error's message to the remote peer verbatim.
 */
import * as grpc from '@grpc/grpc-js';
import { PqpskError } from '../errors.js';
import { ephemeralPeerService, type RegisterResponseInput, type WireRegisterRequest } from './proto.js';
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

export type RegisterHandler = (request: WireRegisterRequest, context: RegisterCallContext) => Promise<RegisterResponseInput>;

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

/** Start the EphemeralPeer service on `address` (`ip:port`). Fails with SETUP when it cannot bind. */
export async function startRpcServer(address: string, handler: RegisterHandler, options: RpcServerOptions): Promise<RpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRequestBytes,
    'grpc.max_send_message_length': 64 * 1024,
  });
  const { definition, encodedBytes } = measuredService();
  server.addService(definition, {
    RegisterPeerV1: (
      call: grpc.ServerUnaryCall<WireRegisterRequest, RegisterResponseInput>,
      callback: grpc.sendUnaryData<RegisterResponseInput>,
    ) => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const context: RegisterCallContext = {
        peerAddress: peerIp(call.getPeer()),
        signal: controller.signal,
        requestBytes: encodedBytes(call.request),
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

/**
 * The service definition with a request deserializer that remembers each decoded request's
 * encoded size (keyed weakly by the decoded object, so nothing outlives the call).
 */
function measuredService(): { definition: grpc.ServiceDefinition; encodedBytes: (request: object) => number | undefined } {
  const sizes = new WeakMap<object, number>();
  const definition: grpc.ServiceDefinition = Object.fromEntries(
    Object.entries(ephemeralPeerService()).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          const decoded: unknown = method.requestDeserialize(bytes);
          if (typeof decoded === 'object' && decoded !== null) sizes.set(decoded, bytes.length);
          return decoded;
        },
      },
    ]),
  );
  return { definition, encodedBytes: (request) => sizes.get(request) };
}

function bindReason(err: Error): string {
  const text = err.message;
  if (/EADDRINUSE/.test(text)) return 'address already in use';
  if (/EADDRNOTAVAIL/.test(text)) return 'no interface on this machine has that address';
  if (/EACCES/.test(text)) return 'permission denied';
  return text.split('\n')[0] ?? 'bind failed';
}
