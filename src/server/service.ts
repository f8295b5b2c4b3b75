/**
 * `pqpsk server` as a library: the relay, its gRPC service, its metrics endpoint and the
 * HQC-256 worker pool, started in an order that fails early and stopped in an order that
 * loses no request (stop accepting → finish in-flight → give the parents their
 * addresses back → persist).
 * The CLI adds argument parsing, signals and printing on top.
 */
import { PqpskError } from '../errors.js';
import { createMlKem1024 } from '../kem/ml-kem-1024.js';
import { createClassicMcEliece460896f } from '../kem/classic-mceliece-460896f.js';
import type { HqcEngine } from '../kem/registry.js';
import type { Kem, KemName } from '../kem/types.js';
import { MAX_REQUEST_BYTES } from '../protocol/request.js';
import { startRpcServer, type ConnectionLimits, type RpcServer } from '../rpc/server.js';
import type { RelayWg } from '../wg/types.js';
import { createHqcWorkerPool, type HqcWorkerPool } from './hqc-pool.js';
import type { BookStore } from './book-store.js';
import type { KemProvider } from './encapsulate.js';
import { startMetricsServer, type MetricsServer } from './http.js';
import { ProcessMetrics } from './process-metrics.js';
import type { RateLimit } from './limits.js';
import type { HostPort } from './listen.js';
import { SILENT_LOGGER, describeError, type Logger } from './log.js';
import { stallLogger } from './stall-log.js';
import { RelayMetrics } from './metrics.js';
import { DEFAULT_MAX_INFLIGHT, OPENING_WAIT_MS } from './defaults.js';
import { OpeningWait } from './opening.js';
import { warmKems } from './warm.js';
import { Relay } from './relay.js';
import type { PollIntervals } from './handshake-poller.js';

/** How long SIGTERM waits for in-flight requests before cancelling them. */
export const SHUTDOWN_GRACE_MS = 15_000;

export interface RelayServiceConfig {
  readonly iface: string;
  readonly listen: HostPort;
  readonly metrics?: HostPort;
  readonly wg: RelayWg;
  readonly store: BookStore;
  readonly logger?: Logger;
  readonly ephemeralTtlMs?: number;
  readonly maxInflight?: number;
  readonly rateLimit?: RateLimit | null;
  readonly poll?: PollIntervals;
  /** Accept parents whose allowed-ips are wider than host routes. */
  readonly allowWideParents?: boolean;
  /** Connection and stream limits of the gRPC listener (src/rpc/server.ts defaults otherwise). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** HQC-256 workers; default one per core. */
  readonly hqcWorkers?: number;
  /** Which HQC-256 build the workers run; default the project's own. */
  readonly hqcEngine?: HqcEngine;
  /** How long a call arriving while the relay opens may wait for it; default OPENING_WAIT_MS. */
  readonly openingWaitMs?: number;
  /** Tests: KEMs to use instead of the worker pool and noble. */
  readonly kems?: KemProvider;
}

export interface RelayService {
  readonly relay: Relay;
  /** `ip:port` of the EphemeralPeer service. */
  readonly address: string;
  /** `ip:port` of /metrics and /healthz, when enabled. */
  readonly metricsAddress: string | null;
  /** Graceful stop (SIGTERM). Idempotent. */
  stop(): Promise<void>;
}

/** Start everything, or clean up what was started and throw (SETUP/NOT_FOUND for an operator's mistake). */
export async function startRelayService(config: RelayServiceConfig): Promise<RelayService> {
  const logger = config.logger ?? SILENT_LOGGER;
  const cleanups: (() => Promise<void>)[] = [];
  let failed = false;
  const undo = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    let kems = config.kems;
    let pool: HqcWorkerPool | undefined;
    // The service's own KEMs are warmed while it binds and opens (warm.ts); opened to
    // calls only once warm. Injected KEMs (tests) are used as given.
    let warming: Promise<void> = Promise.resolve();
    if (kems === undefined) {
      const hqc = createHqcWorkerPool({
        ...(config.hqcWorkers === undefined ? {} : { size: config.hqcWorkers }),
        ...(config.hqcEngine === undefined ? {} : { engine: config.hqcEngine }),
      });
      pool = hqc;
      cleanups.push(() => hqc.close());
      const byName: Record<KemName, Kem> = {
        'ML-KEM-1024': createMlKem1024(),
        'HQC-256': hqc.kem,
        'Classic-McEliece-460896f-round3': createClassicMcEliece460896f(),
      };
      kems = (name: KemName): Kem => byName[name];
      warming = warmKems({ pool: hqc, mlKem: byName['ML-KEM-1024'], mcEliece: byName['Classic-McEliece-460896f-round3'] }).catch((err: unknown) => {
        // A cold KEM is slow, not wrong: serve anyway, and say so (unless the start failed
        // and closed the pool under the warm-up).
        if (!failed) logger.log('warn', { event: 'warm-up-failed', iface: config.iface, ...describeError(err) });
      });
    }
    const metrics = new RelayMetrics();
    // Bind both ports before touching the interface: a second instance started by mistake
    // on the same address fails here, before its recovery pass could remove peers that the
    // first instance is still serving.
    let opened: Relay | undefined;
    // Memory held by requests: grpc-js refuses a message over MAX_REQUEST_BYTES (about
    // 535 KB, every supported key at once) before decoding; a decoded request is refused at
    // once when maxInflight registrations are running or when it is bigger than its own
    // algorithms need. So registrations pin at most maxInflight × MAX_REQUEST_BYTES
    // (32 × 535 KB ≈ 17 MB at the default). Messages still arriving stay under the
    // transport's budgets (src/rpc/server.ts, src/rpc/stalls.ts): per connection 2 streams
    // and 4 MB of HTTP/2 session memory; partly received requests 2.1 MB per source and
    // 64 MiB in all, stalled connections closed first, and no message arriving for more
    // than 90 s.
    // Calls arriving before the relay is open wait for it (opening.ts): at most
    // maxInflight of them, each at most OPENING_WAIT_MS, so a start pins at most the same
    // maxInflight × MAX_REQUEST_BYTES; later ones are refused at once, "relay is starting".
    const maxInflight = config.maxInflight ?? DEFAULT_MAX_INFLIGHT;
    const opening = new OpeningWait(maxInflight, config.openingWaitMs ?? OPENING_WAIT_MS);
    cleanups.push(async () => opening.fail());
    const rpc: RpcServer = await startRpcServer(config.listen.text, async (request, context) => {
      // wait() resolves only after `opened` is set (opening.open() follows it).
      if (opened === undefined) await opening.wait(context.signal);
      return opened!.register(request, context);
    }, {
      sourceAllowed: (ip) => opened?.acceptsSource(ip) ?? true,
      onStalledClose: stallLogger(logger, config.iface),
      ...(config.connectionLimits === undefined ? {} : { limits: config.connectionLimits }),
      maxRequestBytes: MAX_REQUEST_BYTES,
    });
    cleanups.push(async () => rpc.forceShutdown());

    let metricsServer: MetricsServer | null = null;
    let processMetrics: ProcessMetrics | undefined;
    if (config.metrics !== undefined) {
      const sampler = new ProcessMetrics(() => rpc.stats());
      processMetrics = sampler;
      cleanups.push(async () => sampler.stop());
      const server = await startMetricsServer(config.metrics, {
        metrics: () => metrics.render() + sampler.render(),
        healthy: () => opened?.healthy ?? false,
      });
      metricsServer = server;
      cleanups.push(() => server.close());
    }

    const relay = await Relay.open({
      iface: config.iface,
      wg: config.wg,
      store: config.store,
      kems,
      logger,
      metrics,
      ...(config.ephemeralTtlMs === undefined ? {} : { ephemeralTtlMs: config.ephemeralTtlMs }),
      maxInflight,
      ...(config.rateLimit === undefined ? {} : { rateLimit: config.rateLimit }),
      ...(config.poll === undefined ? {} : { poll: config.poll }),
      ...(config.allowWideParents === undefined ? {} : { allowWideParents: config.allowWideParents }),
    });
    await warming;
    opened = relay;
    opening.open();

    relay.startWatcher();
    logger.log('info', {
      event: 'listening',
      iface: config.iface,
      address: rpc.address,
      metrics: metricsServer?.address ?? null,
    });

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        relay.beginShutdown();
        logger.log('info', { event: 'stopping', iface: config.iface, inflight: relay.inflight });
        const grace = setTimeout(() => rpc.forceShutdown(), SHUTDOWN_GRACE_MS);
        try {
          await rpc.shutdown();
        } finally {
          clearTimeout(grace);
        }
        try {
          await relay.close();
        } catch (err) {
          logger.log('error', { event: 'persist-failed', iface: config.iface, ...describeError(err) });
          throw err;
        } finally {
          await metricsServer?.close();
          processMetrics?.stop();
          await pool?.close();
        }
        logger.log('info', { event: 'stopped', iface: config.iface });
      })();
      return stopping;
    };
    return { relay, address: rpc.address, metricsAddress: metricsServer?.address ?? null, stop };
  } catch (err) {
    failed = true;
    await undo();
    throw err instanceof PqpskError ? err : new PqpskError('INTERNAL', `relay failed to start: ${describeError(err).message}`, { cause: err });
  }
}
