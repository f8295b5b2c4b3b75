/**
 * What the first attempt of a single-hop run can do before its interface is read: the
 * MSS guard, the route check, the connection to the config service, and the fresh keys.
 * Reading the interface and setting routes wait on other processes, the connection on the
 * network, the keys on this CPU: started side by side, each waits less.
 *
 * Secrets held here: the keys until the attempt takes them (or `close` wipes them).
 */
import { connectRegisterService, type RegisterConnection } from '../rpc/client.js';
import { makeExchangeKeys, type ExchangeKeys, type RegisterCall } from './exchange.js';
import { outsideTunnel, type MssClamp } from './hop-route.js';
import type { NegotiateDeps } from './negotiation-deps.js';
import type { HopSpec } from './types.js';

/** The part of the first attempt that was started early; the attempt takes it over. */
export class HeadStart {
  /** The MSS guard for the run (undone by the run). */
  readonly clamps: Promise<MssClamp[]>;
  /** Resolves once the route to the config service went through the hop's interface; rejects as checkRoute does. */
  readonly routed: Promise<void>;
  readonly #keys: Promise<ExchangeKeys>;
  #connection: RegisterConnection | null = null;
  #taken = false;

  private constructor(hop: HopSpec, deps: NegotiateDeps) {
    const emit = deps.onEvent ?? (() => undefined);
    const guard = deps.mssGuard;
    this.clamps =
      guard === undefined
        ? Promise.resolve([])
        : guard(hop.service, null).then((clamp) => {
            emit({ kind: 'mss-clamp', service: hop.service, applied: clamp.applied, message: clamp.message });
            return [clamp];
          });
    this.routed = this.clamps.then(async () => {
      const dev = deps.routeDevice === undefined ? hop.iface : await deps.routeDevice(hop.service);
      if (dev !== hop.iface) throw outsideTunnel(hop, dev);
      // Only our own call: a caller's injected call connects by itself.
      if (deps.call === undefined && !this.#taken) this.#connection = connectRegisterService(hop.service);
    });
    this.routed.catch(() => undefined);
    // The keys once the connection is on its way: made earlier, their CPU would hold up
    // the processes above (each next one starts only when this thread gets to it), which
    // are on the way to the request too. Key by key, with the event loop let in between.
    this.#keys = this.routed.then(() => makeExchangeKeys({ kems: deps.kems }, () => new Promise((resolve) => setImmediate(resolve))));
    this.#keys.catch(() => undefined);
  }

  /** A head start for `hops`, or null when there is none to take (two hops take turns on their routes). */
  static begin(hops: readonly HopSpec[], deps: NegotiateDeps): HeadStart | null {
    return hops.length === 1 ? new HeadStart(hops[0]!, deps) : null;
  }

  /** The keys and the call for the first exchange; the caller owns them from now on. */
  take(): { keys: Promise<ExchangeKeys>; call: RegisterCall | undefined } {
    this.#taken = true;
    // Kept as well: if the attempt fails before its call (its keys ran late, a KEM engine
    // failed to load), nothing else would close the connection; `close` does, once.
    const connection = this.#connection;
    return {
      keys: this.#keys,
      call:
        connection === null
          ? undefined
          : async (_target, request, options) => {
              try {
                return await connection.call(request, options);
              } finally {
                connection.close();
              }
            },
    };
  }

  /** Closes the connection (a second close is nothing) and wipes the keys unless the attempt took them. */
  close(): void {
    this.#connection?.close();
    this.#connection = null;
    if (!this.#taken) {
      this.#taken = true;
      void this.#keys.then((k) => k.wipe(), () => undefined);
    }
  }
}
