/**
 * gRPC client glue: one RegisterPeerV1 call, with a deadline, over a fresh plaintext
 * HTTP/2 connection inside the tunnel, which may be opened before the call. The negotiation logic (src/client/) sees typed
 * messages and PqpskErrors only.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type * as Grpc from '@grpc/grpc-js';
import type { RegisterPeerMethod, RegisterRequestInput, WireRegisterResponse } from './proto.js';
import { errorForStatus, ServiceCallError } from './status.js';

/** grpc-js's module.exports. */
type GrpcJs = (typeof Grpc)['default'];

let loading: Promise<{ grpc: GrpcJs; method: RegisterPeerMethod }> | undefined;

/**
 * grpc-js and the service definition, loaded once. They are most of what a one-shot
 * client loads, so they are not imported with this module, which would load them
 * before the client does anything: loading starts once this module is evaluated and
 * goes on while the client reads its interface and routes (other processes, running
 * beside it) and makes its keys, so a run that fails early (no such interface) does not
 * wait for them and the call rarely does.
 */
function rpcModules(): Promise<{ grpc: GrpcJs; method: RegisterPeerMethod }> {
  // `default`: the package's module.exports, both from node (a CommonJS package) and from
  // the bundle, whose chunk for it exports nothing else.
  loading ??= Promise.all([import('@grpc/grpc-js'), import('./proto.js')]).then(([grpc, proto]) => ({ grpc: grpc.default, method: proto.registerPeerMethod() }));
  return loading;
}
// A failure here surfaces at the call, which awaits the same promise.
setImmediate(() => void rpcModules().catch(() => undefined));

/** The largest answer we accept: the HQC-256 + ML-KEM-1024 answer is ~16 KB. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface RegisterCallOptions {
  /** Absolute deadline, ms since the epoch: covers connect + call. */
  readonly deadline: number;
  /** The time the caller's attempt was given, named when it runs out (default: until `deadline`). */
  readonly budgetMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The grpc-js target for `ip:port` (IPv6 bracketed): with the `ipv4:`/`ipv6:` scheme the
 * address is used as given. Without a scheme grpc-js picks its DNS resolver, which starts
 * a DNS client (reading the system's resolver configuration) for every channel even when
 * the host is an address. The `:authority` sent stays `ip:port` either way. Anything else
 * is passed through unchanged.
 */
export function channelTarget(target: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(target);
  if (bracketed !== null && isIPv6(bracketed[1]!)) return `ipv6:${target}`;
  const plain = /^([^:]+):\d+$/.exec(target);
  if (plain !== null && isIPv4(plain[1]!)) return `ipv4:${target}`;
  return target;
}

/** A connection to one config service for one RegisterPeerV1 call, opened before the call is ready. */
export interface RegisterConnection {
  /** The call (see callRegisterPeer); once per connection. */
  call(request: RegisterRequestInput, options: RegisterCallOptions): Promise<WireRegisterResponse>;
  /** Closes the connection; safe to call twice and before or after the call. */
  close(): void;
}

/**
 * Start connecting to `target` (`ip:port`) now, TCP and HTTP/2, so a call made later
 * finds the connection up: the client opens it while it reads its interface and makes
 * its keys. grpc-js connects lazily otherwise, at the call.
 */
export function connectRegisterService(target: string): RegisterConnection {
  let closed = false;
  // Whether the HTTP/2 connection ever came up tells "no answer at all" from an answer.
  let connected = false;
  const opened = rpcModules().then(({ grpc, method }) => {
    const client = new grpc.Client(channelTarget(target), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      'grpc.enable_retries': 0,
      'grpc.service_config_disable_resolution': 1,
      // grpc-js otherwise shares one connection among all channels to the same target in a
      // process, so concurrent calls would queue behind the relay's per-connection stream
      // limit; every call gets its own connection, as a separate client would.
      'grpc.use_local_subchannel_pool': 1,
      // One channel per call: channelz would register and trace each one for nothing.
      'grpc.enable_channelz': 0,
    });
    if (closed) {
      client.close();
      return { grpc, method, client };
    }
    const channel = client.getChannel();
    const follow = (state: Grpc.connectivityState): void => {
      if (state === grpc.connectivityState.READY) connected = true;
      if (connected || state === grpc.connectivityState.SHUTDOWN) return;
      // No deadline: closing the channel ends the watch (SHUTDOWN).
      channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, (err) => {
        if (err === undefined) follow(channel.getConnectivityState(false));
      });
    };
    // `true`: leave IDLE and connect now.
    follow(channel.getConnectivityState(true));
    return { grpc, method, client };
  });
  // A failure here surfaces at the call, which awaits the same promise.
  opened.catch(() => undefined);
  return {
    async call(request, options) {
      const { grpc, method, client } = await opened;
      const started = Date.now();
      return await new Promise<WireRegisterResponse>((resolve, reject) => {
        const call = client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new grpc.Metadata(),
          { deadline: options.deadline },
          (err, value) => {
            if (err) reject(errorForStatus(target, { code: err.code, details: err.details, connected, budgetMs: options.budgetMs ?? options.deadline - started }, err));
            else if (value === undefined) reject(new ServiceCallError('RPC_FAILURE', target, 'answered', `relay at ${target} answered with an empty message`));
            else resolve(value);
          },
        );
        options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
      });
    },
    close() {
      if (closed) return;
      closed = true;
      void opened.then(({ client }) => client.close(), () => undefined);
    },
  };
}

/**
 * Call RegisterPeerV1 on `target` (`ip:port`) over a connection of its own. Every failure
 * becomes a ServiceCallError naming `target` and what went wrong in the user's words
 * (src/rpc/status.ts): nothing listening, no answer at all, or what the relay answered.
 */
export async function callRegisterPeer(target: string, request: RegisterRequestInput, options: RegisterCallOptions): Promise<WireRegisterResponse> {
  const connection = connectRegisterService(target);
  try {
    return await connection.call(request, options);
  } finally {
    connection.close();
  }
}
