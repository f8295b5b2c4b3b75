/**
 * gRPC server glue for EphemeralPeer. The relay logic (src/server/) sees a typed request
 * and the caller's address; it never sees grpc-js. Every call is answered exactly once,
 * errors are mapped to safe statuses in src/rpc/status.ts, because grpc-js would send a
 * thrown error's message to the remote peer verbatim.
 */
import { createServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { PqpskError } from '../errors.js';
import { ephemeralPeerService, registerPeerMethod, type ReceivedRegisterRequest, type RegisterResponseInput } from './proto.js';
import { StallWatch, type StallLimits, type StalledClose, type StallReason } from './stalls.js';
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

/**
 * What one remote party can hold open on the relay. A unary service needs one stream per
 * call and a handful of calls per connection; everything beyond is an attack's memory.
 */
export interface ConnectionLimits extends StallLimits {
  /** HTTP/2 streams a connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxStreamsPerConnection: number;
  /** TCP connections one source address may hold; more are closed at once. */
  readonly maxConnectionsPerSource: number;
  /** TCP connections in all; more are closed at once. */
  readonly maxConnections: number;
  /** A connection with no call for this long is closed (GOAWAY), and so is a socket that sent nothing. */
  readonly idleMs: number;
  /** Every connection is closed after this long (with a grace period for its calls). */
  readonly maxAgeMs: number;
  /** HTTP/2 session memory (buffered frames, unread responses) per connection, MiB. */
  readonly maxSessionMemoryMb: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  // A negotiation is one call on its own connection (ours and the published client's);
  // a second stream covers a call retried on a connection whose first stream is closing.
  maxStreamsPerConnection: 2,
  // A client makes one connection per negotiation; a few allow retries and a second hop.
  maxConnectionsPerSource: 4,
  maxConnections: 1024,
  idleMs: 30_000,
  maxAgeMs: 300_000,
  maxSessionMemoryMb: 4,
  // The largest request (a Classic McEliece key, about 535 KB) takes 67 s at 64 kbit/s
  // and 45 s at 96 kbit/s. Our client gives an attempt 8, 16, 32 then 48 s, so no client
  // of ours waits longer than 48 s for an answer: 90 s lets a client with a longer
  // deadline than ours finish that request at 48 kbit/s, and no message holds memory
  // longer than that.
  messageDeadlineMs: 90_000,
  // Stalled means nothing read for 4 s, or under 1 KB/s (8 kbit/s, an eighth of a poor
  // 64 kbit/s link) over 4 s, while a message is arriving: a steady slow link is never
  // stalled, and 4 s outlasts TCP's first retransmission back-offs on a lossy one; a
  // sender that stops is found within 4 to 5 s, inside a client's first attempt (8 s).
  stallWindowMs: 4000,
  minBytesPerSecond: 1024,
  // Four largest requests at once from one address (its four connections each carrying
  // one), and 64 MiB in all; beyond either, stalled connections are closed first.
  maxPartialBytesPerSource: 4 * 535_000,
  maxPartialBytes: 64 * 1024 * 1024,
});

export interface RpcServerOptions {
  /** Requests larger than this are refused by grpc-js with RESOURCE_EXHAUSTED before decoding. */
  readonly maxRequestBytes: number;
  /** Sees every handler failure with its full error (for the relay's own log). */
  readonly onHandlerError?: (err: unknown, context: RegisterCallContext) => void;
  /** Connection and stream limits; defaults above. */
  readonly limits?: Partial<ConnectionLimits>;
  /**
   * Whether a source address may talk to the service now (the relay says no once it has
   * spent its budget of refused requests). A refused source's connections are closed after
   * its refusal is sent, and new ones are closed on accept — a flood then costs a TCP
   * accept, not a decoded request.
   */
  readonly sourceAllowed?: (ip: string) => boolean;
  /** Told of every connection closed for stalling (for the relay's rate-limited log). */
  readonly onStalledClose?: (close: StalledClose) => void;
}

/** Live figures for /metrics. */
export interface RpcStats {
  /** TCP connections open now. */
  readonly connections: number;
  /** Calls whose handler has not answered yet. */
  readonly calls: number;
  /** Connections closed at once for exceeding a cap, by which cap. */
  readonly refusedConnections: { readonly perSource: number; readonly total: number; readonly refusedSource: number };
  /** Connections closed for stalling a message, by why (src/rpc/stalls.ts). */
  readonly stalledConnections: Readonly<Record<StallReason, number>>;
  /** Bytes of requests received in part and held now. */
  readonly partialRequestBytes: number;
}

export interface RpcServer {
  /** The bound address, `host:port` (port resolved when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  stats(): RpcStats;
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

/**
 * Start the EphemeralPeer service on `address` (`ip:port`). Fails with SETUP when it
 * cannot bind. The TCP listener is our own, so connections are counted per source and
 * capped before grpc-js sees them; grpc-js then serves each accepted socket with the
 * stream, memory, idle and age limits set.
 */
export async function startRpcServer(address: string, handler: RegisterHandler, options: RpcServerOptions): Promise<RpcServer> {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const watch = new StallWatch(limits, options.onStalledClose ?? (() => undefined));
  // Each decoded request's encoded size, keyed weakly by the decoded object (nothing outlives the call).
  const sizes = new WeakMap<object, number>();
  const server = new grpc.Server({
    interceptors: [stallInterceptor(watch, sizes)],
    'grpc.max_receive_message_length': options.maxRequestBytes,
    'grpc.max_send_message_length': 64 * 1024,
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    'grpc.max_connection_idle_ms': limits.idleMs,
    'grpc.max_connection_age_ms': limits.maxAgeMs,
    'grpc.max_connection_age_grace_ms': Math.min(limits.maxAgeMs, 30_000),
    // Channelz keeps a record per connection and call for a debugging service we do not serve.
    'grpc.enable_channelz': 0,
  });
  let calls = 0;
  const gate = new ConnectionGate(limits, options.sourceAllowed ?? (() => true), watch);
  server.addService(serviceDefinition(sizes), {
    RegisterPeerV1: (
      call: grpc.ServerUnaryCall<ReceivedRegisterRequest, RegisterResponseInput>,
      callback: grpc.sendUnaryData<RegisterResponseInput>,
    ) => {
      calls++;
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
        calls--;
        callback(err, value);
        if (err !== null && options.sourceAllowed?.(context.peerAddress) === false) {
          // Let the refusal reach the client, then close everything it holds open.
          setTimeout(() => gate.dropSource(context.peerAddress), 50).unref();
        }
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
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = createServer({ noDelay: true }, (socket) => {
    if (!gate.admit(socket)) return;
    // grpc-js watches idle HTTP/2 sessions, but a socket that never sends the preface
    // would sit forever: hand it over only once it has spoken, and drop it if it never does.
    const silent = setTimeout(() => socket.destroy(), limits.idleMs);
    silent.unref();
    socket.once('close', () => clearTimeout(silent));
    socket.once('readable', () => {
      clearTimeout(silent);
      const first: unknown = socket.read();
      if (first instanceof Buffer) socket.unshift(first);
      if (!socket.destroyed) injector.injectConnection(socket);
    });
  });
  const host = address.slice(0, address.lastIndexOf(':'));
  const bareHost = host.startsWith('[') ? host.slice(1, -1) : host;
  const wanted = Number(address.slice(address.lastIndexOf(':') + 1));
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: Error): void => reject(new PqpskError('SETUP', `cannot listen on ${address}: ${bindReason(err)}`, { cause: err }));
    listener.once('error', onError);
    listener.listen({ host: bareHost, port: wanted, exclusive: true }, () => {
      listener.off('error', onError);
      const bound = listener.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : wanted);
    });
  });
  return {
    address: `${host}:${port}`,
    port,
    stats: () => ({
      connections: gate.open,
      calls,
      refusedConnections: gate.refused,
      stalledConnections: watch.closed,
      partialRequestBytes: watch.partialBytes,
    }),
    shutdown: () =>
      new Promise<void>((resolve) => {
        listener.close();
        watch.stop();
        server.tryShutdown(() => {
          injector.destroy();
          gate.destroyAll();
          resolve();
        });
      }),
    forceShutdown: () => {
      listener.close();
      watch.stop();
      server.forceShutdown();
      injector.destroy();
      gate.destroyAll();
    },
  };
}

/**
 * Counts open sockets per source address and in all, and closes at once those over a
 * cap (memory bounded: one map entry per source with an open socket).
 */
class ConnectionGate {
  readonly #perSource = new Map<string, Set<Socket>>();
  readonly #sockets = new Set<Socket>();
  readonly #limits: ConnectionLimits;
  readonly #allowed: (ip: string) => boolean;
  readonly #watch: StallWatch;
  readonly refused = { perSource: 0, total: 0, refusedSource: 0 };

  constructor(limits: ConnectionLimits, allowed: (ip: string) => boolean, watch: StallWatch) {
    this.#limits = limits;
    this.#allowed = allowed;
    this.#watch = watch;
  }

  get open(): number {
    return this.#sockets.size;
  }

  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    // A socket's address has no port; only the v4-mapped prefix differs from getPeer()'s.
    const source = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    const mine = this.#perSource.get(source);
    let refusal: keyof ConnectionGate['refused'] | null = null;
    const totalFull = this.#sockets.size >= this.#limits.maxConnections;
    const sourceFull = (mine?.size ?? 0) >= this.#limits.maxConnectionsPerSource;
    if (!this.#allowed(source)) refusal = totalFull ? 'total' : sourceFull ? 'perSource' : 'refusedSource';
    else if (sourceFull || totalFull) {
      // A stalled connection (of this source first) makes room; forget it now, not at its 'close'.
      const freed = this.#watch.makeRoom(source, sourceFull);
      if (freed === undefined) refusal = sourceFull ? 'perSource' : 'total';
      else this.#forget(freed.socket, freed.source);
    }
    if (refusal !== null) {
      this.refused[refusal]++;
      socket.destroy();
      return false;
    }
    const set = mine ?? new Set<Socket>();
    set.add(socket);
    this.#perSource.set(source, set);
    this.#sockets.add(socket);
    socket.once('close', () => this.#forget(socket, source));
    this.#watch.track(socket, source);
    return true;
  }

  #forget(socket: Socket, source: string): void {
    this.#sockets.delete(socket);
    const set = this.#perSource.get(source);
    if (set?.delete(socket) === true && set.size === 0) this.#perSource.delete(source);
  }

  /** Close every connection of `source`. */
  dropSource(source: string): void {
    for (const socket of this.#perSource.get(source) ?? []) socket.destroy();
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

/**
 * Tells the stall watch when each call's headers arrive, when its request is whole and
 * when it ends, through grpc-js's public server-interceptor interface (the connection is
 * recognised by the peer address and port grpc-js reports for the call).
 */
function stallInterceptor(watch: StallWatch, sizes: WeakMap<object, number>): grpc.ServerInterceptor {
  return (_method, call) => {
    const connection = call.getConnectionInfo();
    const ticket = watch.callStarted(connection.remoteAddress, connection.remotePort);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message: unknown, pass) => {
            ticket.messageWhole(typeof message === 'object' && message !== null ? sizes.get(message) : undefined);
            pass(message);
          },
          onCancel: () => ticket.ended(),
        }),
      sendStatus: (status, pass) => {
        ticket.ended();
        pass(status);
      },
    });
  };
}

function bindReason(err: Error): string {
  const text = err.message;
  // Any local user may bind a port above 1023 while the relay is down: say what that means.
  if (/EADDRINUSE/.test(text)) return 'address already in use: another process holds it, and clients that reach this address now talk to that process, not to pqpsk (ss -ltnp names it)';
  if (/EADDRNOTAVAIL/.test(text)) return 'no interface on this machine has that address';
  if (/EACCES/.test(text)) return 'permission denied';
  return text.split('\n')[0] ?? 'bind failed';
}
