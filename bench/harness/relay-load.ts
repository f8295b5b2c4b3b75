/**
 * Relay throughput: registrations per second with N concurrent clients over loopback
 * gRPC, and the latency of `/healthz` meanwhile (the HQC-256 worker pool must keep the
 * event loop free). Figures are printed by `npm run bench`, never asserted. It also runs
 * against a real wireguard-go interface (the `wg` option), and reads where a
 * registration's time goes from the relay's own log records.
 *
 * What runs where: the relay service is the production one (startRelayService: gRPC,
 * HQC-256 on the worker pool, ML-KEM-1024 in-thread) on the in-memory FakeWgControl; the
 * load (clients and the /healthz prober) runs on a worker thread with its own event loop,
 * so the probe measures the server's responsiveness, not the load generator's.
 *
 * Simplifications, stated so the figures are read right: every request comes from
 * 127.0.0.1, which the fake interface routes to one parent peer, so all clients register
 * for that parent and each registration replaces the previous pending one (a `wg set`
 * with one add and one remove — the full work of a registration); the fake `wg` costs
 * nothing, while a real `wg set` spawns a process (the `wg` option measures that);
 * client KEM public keys are generated once and reused (the relay encapsulates afresh on
 * every call; the PSK agreement is checked once, before timing starts); ephemeral
 * WireGuard keys are 32 random bytes (the relay only hands them to `wg`, which accepts any
 * 32 bytes), so the load generator spends its share of the two cores on gRPC alone.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { request as httpRequest } from 'node:http';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isPqpskError } from '../../src/errors.js';
import { combineSharedSecrets } from '../../src/kem/psk.js';
import { referenceMcElieceBackend } from '../../src/client/mceliece.js';
import { createClassicMcEliece460896f } from '../../src/kem/classic-mceliece-460896f.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { Kem, KemKeypair, KemName } from '../../src/kem/types.js';
import type { RegisterRequestInput } from '../../src/protocol/messages.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { MemoryBookStore } from '../../test/fixtures/memory-book-store.js';
import type { BookStore } from '../../src/server/book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { MemoryLogger } from '../../src/server/log.js';
import { startRelayService } from '../../src/server/service.js';
import { FakeWgControl } from '../../test/fixtures/fake-wg-control.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { readPresharedKey } from '../../src/testbed/psk-read.js';
import type { RelayWg } from '../../src/wg/types.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { keepAndSummarise, startCpuProfile, type ProfileSummary } from './cpu-profile.js';
import { percentileOf, percentilesOf, type Percentiles } from './stats.js';
import { threadCpuMs } from './thread-cpu.js';
import { CallTimes, stepsOf, timedStore, timedWg } from './timed-wg.js';
import type { Logger } from '../../src/server/log.js';

/** What to load the relay with, for how long, on which WireGuard. */
export interface RelayBenchOptions {
  /** Concurrent clients (default 8). */
  readonly clients?: number;
  /** Measured seconds, after `warmupSeconds` (defaults 10 and 1). */
  readonly seconds?: number;
  readonly warmupSeconds?: number;
  /** KEMs each request offers, in order (default ML-KEM-1024, HQC-256). */
  readonly kems?: readonly KemName[];
  /** HQC-256 workers (default one per core). */
  readonly hqcWorkers?: number;
  /** Gap between /healthz probes (default 20 ms). */
  readonly probeIntervalMs?: number;
  /**
   * A real interface instead of the fake: `parent` must be a peer of `iface` holding
   * 127.0.0.1/32. PSKs are compared through `wg show … preshared-keys` (root namespace:
   * wireguard-go's UAPI socket is reachable by name from anywhere).
   */
  readonly wg?: { readonly control: RelayWg; readonly iface: string; readonly parent: Uint8Array };
  /** Where the relay keeps its book (default: in memory). */
  readonly store?: BookStore;
  /** Profile the relay's event loop over the measured window (costs some throughput); names the saved profile. */
  readonly profile?: string;
  /**
   * Sample RSS and registrations in progress every 10 ms (the `peaks` figure); off, peaks
   * are NaN: reading RSS costs the relay's thread about 5 % of its time at that rate.
   */
  readonly samplePeaks?: boolean;
  /** Time every `wg` call and book save over the measured window. */
  readonly timeCalls?: boolean;
}

/** One kind of call the relay waited for, over the measured window. */
export interface CallFigure {
  readonly what: string;
  readonly perRegistration: number;
  readonly medianMs: number;
}

/**
 * The kinds of call a registration's window is split into, in the order a millisecond is
 * given to them when several run at once (timed-wg.ts names them).
 */
export const STEP_ORDER: readonly string[] = ['wg set', 'wg read (allowed-ips + latest-handshakes)', 'book save', 'wg latest-handshakes (watcher)', 'wg transfer'];

/** One step of a registration at the relay: its median and mean share of the window, ms. */
export interface StepFigure {
  readonly what: string;
  readonly medianMs: number;
  readonly meanMs: number;
}

/** Where a registration's time goes, from the relay's own log records (medians, ms). */
export interface RelayBreakdown {
  /** The whole handler: validate, authenticate, encapsulate, lock, `wg set`, book. */
  readonly handlerMs: number;
  readonly encapsMs: Readonly<Record<string, number>>;
  /** Handler minus encapsulations: reads of the interface, the lock, `wg set`, the book. */
  readonly otherMs: number;
}

/** CPU and busy time while measuring. */
export interface RelayCpu {
  /** CPU of the whole process (relay, HQC workers, load thread) per registration, ms. */
  readonly processMsPerRegistration: number;
  /**
   * CPU of the relay alone per registration, ms: the process (event loop, HQC workers,
   * Node's and V8's helper threads) minus the load thread's own CPU clock; null where
   * that clock cannot be read.
   */
  readonly relayMsPerRegistration: number | null;
  /** The load thread's own CPU per registration, ms (null as above). */
  readonly loadMsPerRegistration: number | null;
  /** Share of wall time the relay's event loop was busy (0..1). */
  readonly relayLoopBusy: number;
  /** Share of wall time the load generator's thread was busy (0..1). */
  readonly loadLoopBusy: number;
}

/** One throughput measurement, with where the relay's time and CPU went. */
export interface RelayBenchResult {
  readonly clients: number;
  readonly seconds: number;
  readonly kems: readonly KemName[];
  readonly hqcWorkers: number;
  readonly registrations: number;
  readonly registrationsPerSecond: number;
  /** Client-observed RegisterPeerV1 latency, ms. */
  readonly latencyMs: Percentiles;
  /** `/healthz` round trip while under load, ms. */
  readonly healthzMs: Percentiles;
  /** The server's event-loop timer (5 ms resolution, so ≈5 means no delay) while under load, ms. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Failed calls by error code (should be empty). */
  readonly failures: Readonly<Record<string, number>>;
  readonly breakdown: RelayBreakdown;
  readonly cpu: RelayCpu;
  /**
   * The largest resident set of the whole process (relay, workers and the load thread with
   * its requests) and the most registrations the relay held in progress at once, both
   * sampled every 10 ms over the measured window.
   */
  readonly peaks: { readonly rssMb: number; readonly inflight: number };
  /** Where the relay's event loop spent its time (with `profile`). */
  readonly profile?: ProfileSummary;
  /** The calls the relay waited for (with `timeCalls`). */
  readonly calls?: readonly CallFigure[];
  /**
   * Each successful registration's window at the relay split by what was running (with
   * `timeCalls`; see stepsOf): the `wg` calls and book saves, and `other` for the rest.
   */
  readonly steps?: readonly StepFigure[];
}

export interface LoadData {
  readonly role: typeof LOAD_ROLE;
  readonly target: string;
  /** `/healthz` to probe meanwhile, or null for none. */
  readonly healthz: string | null;
  readonly parent: Uint8Array;
  readonly kems: readonly { name: KemName; publicKey: Uint8Array }[];
  readonly clients: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly probeIntervalMs: number;
}

export interface LoadResult {
  /** Calls that completed inside the measured window (the throughput count). */
  readonly completed: number;
  /** Latencies of the calls that both started and completed inside it. */
  readonly latencies: number[];
  readonly probes: number[];
  readonly failures: Record<string, number>;
  readonly measuredMs: number;
  /** The load thread's own event-loop utilisation over the measured window. */
  readonly loadBusy: number;
  /** The load thread's own CPU over its window (from 'measuring' to 'ended'), ms; null where unknown. */
  readonly loadCpuMs: number | null;
  /** That window as the load thread's clock saw it, ms. */
  readonly loadWindowMs: number;
}

/** What the main thread saw of the process between the load thread's 'measuring' and 'ended'. */
export interface ProcessWindow {
  readonly cpuMs: number;
  readonly wallMs: number;
}

/**
 * CPU per call of the process, of the load thread, and of the rest (the server) — each
 * side's CPU rate over its own view of the window, divided by the calls per second.
 */
export function cpuPerCall(process: ProcessWindow, result: LoadResult): { processMs: number; loadMs: number | null; serverMs: number | null } {
  const callsPerMs = result.completed / result.measuredMs;
  const processRate = process.cpuMs / process.wallMs;
  const loadRate = result.loadCpuMs === null ? null : result.loadCpuMs / result.loadWindowMs;
  return {
    processMs: processRate / callsPerMs,
    loadMs: loadRate === null ? null : loadRate / callsPerMs,
    serverMs: loadRate === null ? null : (processRate - loadRate) / callsPerMs,
  };
}

const IFACE = 'bench0';
export const LOAD_ROLE = 'pqpsk-relay-bench-load';

/** Run the benchmark and return its figures (reusable by `npm run bench`). */
export async function measureRelay(options: RelayBenchOptions = {}): Promise<RelayBenchResult> {
  const clients = options.clients ?? 8;
  const seconds = options.seconds ?? 10;
  const warmupSeconds = options.warmupSeconds ?? 1;
  const kemNames = options.kems ?? ['ML-KEM-1024', 'HQC-256'];
  const hqcWorkers = options.hqcWorkers ?? availableParallelism();

  let iface = IFACE;
  let parent: Uint8Array;
  let wg: RelayWg;
  let readPsk: (ephemeral: string) => Promise<Uint8Array | null>;
  if (options.wg === undefined) {
    const fake = new FakeWgControl({ record: false });
    const relayKey = generatePrivateKey();
    fake.addInterface(IFACE, { privateKey: relayKey });
    relayKey.fill(0);
    parent = publicKeyOf(generatePrivateKey());
    await fake.set(IFACE, { peers: [{ publicKey: publicKeyToText(parent), allowedIps: ['127.0.0.1/32'] }] });
    wg = fake;
    readPsk = async (ephemeral) => fake.presharedKeyOf(IFACE, ephemeral);
  } else {
    const real = options.wg;
    iface = real.iface;
    parent = real.parent;
    wg = real.control;
    readPsk = (ephemeral) => readPresharedKey(real.iface, ephemeral);
  }

  const times = options.timeCalls === true ? new CallTimes() : null;
  let store = options.store ?? new MemoryBookStore();
  if (times !== null) {
    wg = timedWg(wg, times);
    store = timedStore(store, times);
  }
  const logger = new MemoryLogger();
  // When each registration record was logged (its answer is on its way): with its `ms`, the
  // window the steps figure splits.
  const windows: { from: number; to: number; ok: boolean }[] = [];
  const timedLogger: Logger = {
    log: (level, record) => {
      if (times !== null && record.event === 'registration') {
        const to = performance.now();
        windows.push({ from: to - Number(record['ms']), to, ok: record['result'] === 'ok' });
      }
      logger.log(level, record);
    },
  };
  const service = await startRelayService({
    iface,
    listen: parseHostPort('listen', '127.0.0.1:0'),
    metrics: parseHostPort('metrics', '127.0.0.1:0'),
    wg,
    store,
    logger: timedLogger,
    rateLimit: null,
    maxInflight: Math.max(32, clients * 2),
    hqcWorkers,
    // Every client here calls from the one parent's address: let them all connect.
    connectionLimits: { maxConnectionsPerSource: Math.max(4, clients * 2) },
  });
  const clientKems = kemNames.map((name): Kem => {
    if (name === 'HQC-256') return createInThreadHqc256Kem();
    if (name === 'Classic-McEliece-460896f-round3') return createClassicMcEliece460896f({ backend: referenceMcElieceBackend });
    return createMlKem1024();
  });
  const pairs: KemKeypair[] = [];
  try {
    for (const kem of clientKems) pairs.push(await kem.keygen());
    await checkAgreement(service.address, parent, clientKems, pairs, readPsk);

    const data: LoadData = {
      role: LOAD_ROLE,
      target: service.address,
      healthz: `http://${service.metricsAddress}/healthz`,
      parent,
      kems: kemNames.map((name, i) => ({ name, publicKey: pairs[i]!.publicKey })),
      clients,
      warmupMs: warmupSeconds * 1000,
      measureMs: seconds * 1000,
      probeIntervalMs: options.probeIntervalMs ?? 20,
    };
    const loop = monitorEventLoopDelay({ resolution: 5 });
    let from: { cpu: NodeJS.CpuUsage; relay: EventLoopUtilization; records: number } | undefined;
    const peaks = options.samplePeaks === true ? { rssMb: 0, inflight: 0 } : { rssMb: Number.NaN, inflight: Number.NaN };
    let sampler: NodeJS.Timeout | undefined;
    let profiler: Promise<{ stop(): Promise<import('./cpu-profile.js').CpuProfile> }> | undefined;
    let window: (ProcessWindow & { relayBusy: number }) | undefined;
    let started = 0;
    const result = await runLoadThread(
      data,
      () => {
        // The warm-up is over: measure the event loop from here.
        loop.enable();
        if (options.samplePeaks === true) {
          sampler = setInterval(() => {
            peaks.rssMb = Math.max(peaks.rssMb, process.memoryUsage.rss() / 1e6);
            peaks.inflight = Math.max(peaks.inflight, service.relay.inflight);
          }, 10);
        }
        times?.reset();
        if (options.profile !== undefined) profiler = startCpuProfile();
        started = performance.now();
        from = {
          cpu: process.cpuUsage(),
          relay: performance.eventLoopUtilization(),
          records: logger.records.length,
        };
      },
      () => {
        const cpu = process.cpuUsage(from?.cpu);
        window = {
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: performance.now() - started,
          relayBusy: from === undefined ? Number.NaN : performance.eventLoopUtilization(from.relay).utilization,
        };
        times?.stop();
      },
    );
    loop.disable();
    clearInterval(sampler);
    const profile = profiler === undefined ? undefined : await keepAndSummarise(await (await profiler).stop(), options.profile ?? 'relay');
    const cpuUsed = process.cpuUsage(from?.cpu);
    const relayBusy = window?.relayBusy ?? Number.NaN;
    const perCall = window === undefined ? null : cpuPerCall(window, result);
    const measuredRecords = logger.of('registration').slice(from === undefined ? 0 : countRegistrations(logger, from.records));

    const registrations = result.completed;
    const measuredWindows = windows.filter((w) => w.ok && from !== undefined && w.from >= started && (window === undefined || w.to <= started + window.wallMs));
    return {
      clients,
      seconds: result.measuredMs / 1000,
      kems: kemNames,
      hqcWorkers,
      registrations,
      registrationsPerSecond: registrations / (result.measuredMs / 1000),
      latencyMs: percentilesOf(result.latencies),
      healthzMs: percentilesOf(result.probes),
      eventLoopDelayMs: {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
      },
      failures: result.failures,
      breakdown: breakdownOf(measuredRecords),
      cpu: {
        processMsPerRegistration: perCall?.processMs ?? (cpuUsed.user + cpuUsed.system) / 1000 / Math.max(1, registrations),
        relayMsPerRegistration: perCall?.serverMs ?? null,
        loadMsPerRegistration: perCall?.loadMs ?? null,
        relayLoopBusy: relayBusy,
        loadLoopBusy: result.loadBusy,
      },
      peaks,
      ...(profile === undefined ? {} : { profile }),
      ...(times === null ? {} : { calls: callFigures(times, registrations), steps: stepFigures(times, measuredWindows) }),
    };
  } finally {
    for (const p of pairs) p.secretKey.fill(0);
    await service.stop();
  }
}

/**
 * Run the load thread (clients, and the prober when `data.healthz` is set) to the end of
 * its window; `onMeasuring` is called when its warm-up is over, `onEnded` when its
 * measured window is (calls still outstanding then finish after it, uncounted).
 */
export async function runLoadThread(data: LoadData, onMeasuring: () => void, onEnded: () => void = () => undefined): Promise<LoadResult> {
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      worker.on('message', (message: LoadResult | 'measuring' | 'ended') => {
        if (message === 'measuring') onMeasuring();
        else if (message === 'ended') onEnded();
        else resolve(message);
      });
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

/** Per kind of call timed: how many per registration and their median, slowest first. */
function callFigures(times: CallTimes, registrations: number): CallFigure[] {
  return [...times.times]
    .map(([what, list]) => ({ what, perRegistration: list.length / Math.max(1, registrations), medianMs: percentileOf([...list], 0.5) }))
    .sort((a, b) => b.perRegistration * b.medianMs - a.perRegistration * a.medianMs);
}

/** Median and mean of each step over the registrations' windows, in STEP_ORDER, `other` last. */
function stepFigures(times: CallTimes, windows: readonly { from: number; to: number }[]): StepFigure[] {
  const split = windows.map((w) => stepsOf(w, times.spans, STEP_ORDER));
  return [...STEP_ORDER, 'other']
    .map((what) => {
      const values = split.map((m) => m.get(what) ?? 0);
      return { what, medianMs: values.length === 0 ? Number.NaN : percentileOf(values, 0.5), meanMs: values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length };
    })
    .filter((f) => f.what === 'other' || f.meanMs > 0);
}

/** How many registration records the first `records` log records hold. */
function countRegistrations(logger: MemoryLogger, records: number): number {
  return logger.records.slice(0, records).filter((r) => r.record.event === 'registration').length;
}

/** Medians of the successful registrations' handler and encapsulation times. */
function breakdownOf(records: readonly Record<string, unknown>[]): RelayBreakdown {
  const ok = records.filter((r) => r['result'] === 'ok');
  const handler = ok.map((r) => Number(r['ms']));
  const byKem = new Map<string, number[]>();
  const other: number[] = [];
  for (const r of ok) {
    const encaps = (r['encaps_ms'] ?? {}) as Record<string, number>;
    // The relay runs a request's KEMs concurrently: the KEM step lasts as long as the slowest.
    let kemStep = 0;
    for (const [name, ms] of Object.entries(encaps)) {
      byKem.set(name, [...(byKem.get(name) ?? []), ms]);
      kemStep = Math.max(kemStep, ms);
    }
    other.push(Number(r['ms']) - kemStep);
  }
  return {
    handlerMs: percentileOf(handler, 0.5),
    encapsMs: Object.fromEntries([...byKem].map(([name, values]) => [name, percentileOf(values, 0.5)])),
    otherMs: percentileOf(other, 0.5),
  };
}

/** One registration whose PSK is compared with the relay's before any figure is taken. */
async function checkAgreement(
  target: string,
  parent: Uint8Array,
  kems: readonly Kem[],
  pairs: readonly KemKeypair[],
  readPsk: (ephemeral: string) => Promise<Uint8Array | null>,
): Promise<void> {
  const ephemeral = publicKeyOf(generatePrivateKey());
  const response = await callRegisterPeer(target, requestFor(parent, ephemeral, kems.map((k, i) => ({ name: k.name, publicKey: pairs[i]!.publicKey }))), {
    deadline: Date.now() + 30_000,
  });
  const cts = response.post_quantum?.ciphertexts ?? [];
  const secrets: Uint8Array[] = [];
  for (const [i, kem] of kems.entries()) secrets.push(await kem.decapsulate(cts[i]!, pairs[i]!.secretKey));
  const psk = combineSharedSecrets(secrets);
  const relayPsk = await readPsk(publicKeyToText(ephemeral));
  const agree = relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk));
  for (const s of [...secrets, psk, ...(relayPsk === null ? [] : [relayPsk])]) s.fill(0);
  if (!agree) throw new Error('relay bench: the relay and the client derived different PSKs');
}

export function requestFor(parent: Uint8Array, ephemeral: Uint8Array, kems: readonly { name: KemName; publicKey: Uint8Array }[]): RegisterRequestInput {
  return {
    wg_parent_pubkey: parent,
    wg_ephemeral_peer_pubkey: ephemeral,
    post_quantum: { kem_pubkeys: kems.map((k) => ({ algorithm_name: k.name, key_data: k.publicKey })) },
  };
}

/** The worker side: N clients calling in a loop, and a /healthz prober. */
async function runLoad(data: LoadData): Promise<void> {
  const start = performance.now();
  const measureFrom = start + data.warmupMs;
  const end = measureFrom + data.measureMs;
  const latencies: number[] = [];
  const probes: number[] = [];
  const failures: Record<string, number> = {};
  let completed = 0;
  let announced = false;
  let busyFrom: EventLoopUtilization | undefined;
  let cpu: { from: number | null; at: number; used: number | null; windowMs: number } | undefined;
  let ended: NodeJS.Timeout | undefined;
  const announce = (): void => {
    if (!announced && performance.now() >= measureFrom) {
      announced = true;
      busyFrom = performance.eventLoopUtilization();
      cpu = { from: threadCpuMs(), at: performance.now(), used: null, windowMs: 0 };
      parentPort?.postMessage('measuring');
      ended = setTimeout(() => {
        const now = threadCpuMs();
        cpu!.used = now === null || cpu!.from === null ? null : now - cpu!.from;
        cpu!.windowMs = performance.now() - cpu!.at;
        parentPort?.postMessage('ended');
      }, Math.max(0, end - performance.now()));
    }
  };

  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const ephemeral = randomBytes(32);
      const t0 = performance.now();
      try {
        await callRegisterPeer(data.target, requestFor(data.parent, ephemeral, data.kems), { deadline: Date.now() + 30_000 });
        const t1 = performance.now();
        if (t1 >= measureFrom && t1 <= end) completed++;
        if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
      } catch (err) {
        const code = isPqpskError(err) ? err.code : 'ERROR';
        if (t0 >= measureFrom) failures[code] = (failures[code] ?? 0) + 1;
      }
      announce();
    }
  };
  const prober = async (url: string): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await probe(url);
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) probes.push(t1 - t0);
      announce();
      await new Promise((r) => setTimeout(r, data.probeIntervalMs));
    }
  };
  await Promise.all([...Array.from({ length: data.clients }, client), ...(data.healthz === null ? [] : [prober(data.healthz)])]);
  const loadBusy = busyFrom === undefined ? Number.NaN : performance.eventLoopUtilization(busyFrom).utilization;
  // The last calls can end before the window's timer fires (a call longer than the window).
  if (ended !== undefined && cpu !== undefined && cpu.windowMs === 0) await new Promise((r) => setTimeout(r, Math.max(0, end - performance.now() + 1)));
  const result: LoadResult = {
    completed,
    latencies,
    probes,
    failures,
    measuredMs: data.measureMs,
    loadBusy,
    loadCpuMs: cpu?.used ?? null,
    loadWindowMs: cpu === undefined || cpu.windowMs === 0 ? data.measureMs : cpu.windowMs,
  };
  parentPort?.postMessage(result);
}

function probe(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/healthz answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

if (!isMainThread && (workerData as Partial<LoadData> | null)?.role === LOAD_ROLE) {
  await runLoad(workerData as LoadData);
}
