/**
 * The benchmark's one result object (what `--json` prints) and its table (the default).
 * Pure: figures in, text out, so the smoke test can check the table's shape without
 * timing anything. Targets are the project's performance goals, printed as ratio lines with
 * pass/miss — never asserted anywhere.
 */
import type { ColdClientCrypto } from './cold-crypto.js';
import { formatTimings, type OperationTiming } from './kem.js';
import type { MemoryBenchResult } from './memory.js';
import type { NativeReference } from './native.js';
import type { NegotiationMedians, NegotiationSample } from './negotiation.js';
import type { RelayBreakdown, RelayCpu } from './relay.js';
import type { HostStats } from './relay-host.js';
import { mib } from './stats.js';

/** Something that was not measured, and the one-line reason. */
export interface NotMeasured {
  readonly measured: false;
  readonly reason: string;
}

/** The sum the client's total is held against: both KEMs' keygen + encapsulate + decapsulate (medians). */
export interface CryptoSum {
  readonly clientKeygenMs: number;
  readonly relayEncapsMs: number;
  readonly clientDecapsMs: number;
  readonly totalMs: number;
}

/** Client negotiation figures with the crypto they are held against, or why there are none. */
export type NegotiationSection =
  | NotMeasured
  | {
      readonly measured: true;
      readonly runs: number;
      readonly medians: NegotiationMedians;
      /** Each counted negotiation's hop timings, as `negotiate --json` reported them. */
      readonly samples: readonly NegotiationSample[];
      readonly cryptoSum: CryptoSum;
      /** The client's side of the same operations in a fresh process (keygen, decaps), plus the relay's warm encapsulations. */
      readonly coldClient: ColdClientCrypto & { readonly cryptoSumMs: number };
    };

/** One throughput row: the relay against raw HQC-256 on the same workers and concurrency. */
export interface ThroughputRow {
  readonly wg: 'fake' | 'wireguard-go';
  readonly workers: number;
  readonly clients: number;
  readonly seconds: number;
  readonly registrationsPerSecond: number;
  /** Mean of the raw figure measured just before and just after the relay's. */
  readonly rawEncapsPerSecond: number;
  readonly rawBeforeAfter: readonly [number, number];
  readonly ratio: number;
  readonly latencyP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly healthzP99Ms: number;
  readonly breakdown: RelayBreakdown;
  readonly cpu: RelayCpu;
  readonly failures: Readonly<Record<string, number>>;
}

/** The three memory figures: an idle relay for scale, 10 000 peers in memory, 1 000 on wireguard-go. */
export interface MemorySection {
  readonly idle: HostStats | NotMeasured;
  readonly tenThousand: MemoryBenchResult | NotMeasured;
  readonly realThousand: (MemoryBenchResult & { readonly wireguardGoRssBytes: number }) | NotMeasured;
}

/** `not measured` when the figure is missing (no bed, --quick), never a silent pass. */
export type TargetStatus = 'pass' | 'miss' | 'not measured';

/** One target line: `value` against `limit` (both in `unit`). */
export interface TargetLine {
  readonly target: string;
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  readonly status: TargetStatus;
  readonly note: string;
}

/** Everything one run measured; `--json` prints exactly this. */
export interface BenchReport {
  readonly version: 1;
  readonly quick: boolean;
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  /** 1-minute load average when the run began (other work on the machine skews every figure). */
  readonly loadAverageBefore: number;
  /** CPU steal during the run, % of all CPU time (/proc/stat); null where unknown. */
  readonly stealPercent: number | null;
  readonly seconds: number;
  readonly kem: { readonly timings: readonly OperationTiming[]; readonly native: NativeReference };
  readonly negotiation: NegotiationSection;
  readonly throughput: { readonly rows: readonly ThroughputRow[]; readonly real: NotMeasured | { readonly measured: true } };
  readonly memory: MemorySection;
  readonly targets: readonly TargetLine[];
}

/** The performance goals the report compares against. */
export const LIMITS = Object.freeze({
  negotiationFactor: 1.2,
  negotiationSlackMs: 15,
  throughputRatio: 0.85,
  eventLoopP99Ms: 50,
  rssBytesAt10k: 150 * 1048576,
});

/** The crypto sum from this run's KEM medians (both KEMs offered by default). */
export function cryptoSumOf(timings: readonly OperationTiming[]): CryptoSum {
  const pick = (op: OperationTiming['operation']): number =>
    timings.filter((t) => t.operation === op && (t.kem === 'ML-KEM-1024' || t.kem === 'HQC-256')).reduce((sum, t) => sum + t.medianMs, 0);
  const clientKeygenMs = pick('keygen');
  const relayEncapsMs = pick('encapsulate');
  const clientDecapsMs = pick('decapsulate');
  return { clientKeygenMs, relayEncapsMs, clientDecapsMs, totalMs: clientKeygenMs + relayEncapsMs + clientDecapsMs };
}

function isMeasured<T extends object>(x: T | NotMeasured): x is T {
  return !('measured' in x) || x.measured !== false;
}

function status(value: number | null, limit: number | null, atMost: boolean): TargetStatus {
  if (value === null || limit === null || Number.isNaN(value)) return 'not measured';
  return (atMost ? value <= limit : value >= limit) ? 'pass' : 'miss';
}

/** The target lines for a report's figures. */
export function targetsOf(report: Omit<BenchReport, 'targets'>): TargetLine[] {
  const lines: TargetLine[] = [];
  const n = report.negotiation;
  if (n.measured) {
    const limit = LIMITS.negotiationFactor * n.cryptoSum.totalMs + LIMITS.negotiationSlackMs;
    lines.push({
      target: 'client total ≤ 1.2 × crypto sum + 15 ms',
      value: n.medians.withoutVerifyMs,
      limit,
      unit: 'ms',
      status: status(n.medians.withoutVerifyMs, limit, true),
      note: 'total = keygen + rpc + decaps + switch (negotiation without verify); verify waits for a WireGuard handshake and the relay watcher, which are not crypto',
    });
  } else {
    lines.push({ target: 'client total ≤ 1.2 × crypto sum + 15 ms', value: null, limit: null, unit: 'ms', status: 'not measured', note: n.reason });
  }
  for (const row of report.throughput.rows) {
    const limit = LIMITS.throughputRatio * row.rawEncapsPerSecond;
    lines.push({
      target: `regs/s ≥ 0.85 × raw HQC encaps/s (${row.wg}, ${row.workers} worker${row.workers === 1 ? '' : 's'}, ${row.clients} client${row.clients === 1 ? '' : 's'})`,
      value: row.registrationsPerSecond,
      limit,
      unit: '/s',
      status: status(row.registrationsPerSecond, limit, false),
      note: `ratio ${row.ratio.toFixed(2)}`,
    });
  }
  if (!report.throughput.real.measured) {
    lines.push({ target: 'regs/s ≥ 0.85 × raw HQC encaps/s (wireguard-go)', value: null, limit: null, unit: '/s', status: 'not measured', note: report.throughput.real.reason });
  }
  for (const row of report.throughput.rows.filter((r) => r.clients > 1)) {
    lines.push({
      target: `event-loop p99 ≤ 50 ms while saturated (${row.wg}, ${row.workers} worker${row.workers === 1 ? '' : 's'}, ${row.clients} clients)`,
      value: row.eventLoopP99Ms,
      limit: LIMITS.eventLoopP99Ms,
      unit: 'ms',
      status: status(row.eventLoopP99Ms, LIMITS.eventLoopP99Ms, true),
      note: 'includes the 5 ms sampling period',
    });
  }
  const m = report.memory.tenThousand;
  if (isMeasured(m)) {
    lines.push({
      target: `RSS ≤ 150 MB at 10 000 ephemeral peers`,
      value: mib(m.loaded.rssBytes),
      limit: mib(LIMITS.rssBytesAt10k),
      unit: 'MB',
      status: m.peers >= 10_000 ? status(m.loaded.rssBytes, LIMITS.rssBytesAt10k, true) : 'not measured',
      note: m.peers >= 10_000 ? 'relay process only, in-memory WireGuard' : `only ${m.peers} peers in this run (--quick)`,
    });
  } else {
    lines.push({ target: 'RSS ≤ 150 MB at 10 000 ephemeral peers', value: null, limit: null, unit: 'MB', status: 'not measured', note: m.reason });
  }
  return lines;
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—');
const mb = (bytes: number): string => `${mib(bytes).toFixed(1)} MB`;

/** The human table. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(
    `pqpsk benchmark — node ${r.node}, ${r.cpus} × ${r.cpuModel}; load average ${r.loadAverageBefore.toFixed(2)} at start; CPU steal as /proc/stat reports it: ${r.stealPercent === null ? 'unknown' : `${r.stealPercent.toFixed(1)}%`}; ${r.quick ? 'QUICK smoke run (figures not meaningful)' : 'full run'}, ${r.seconds.toFixed(1)} s`,
  );

  out.push('', '1. KEM operations (warm, in-thread; ML-KEM-1024 noble, HQC-256 our WebAssembly loader)');
  out.push(formatTimings(r.kem.timings));
  if (r.kem.native.installed) out.push('pqclean native addon (reference only):', formatTimings(r.kem.native.timings));
  else out.push(`pqclean native addon: not installed — ${r.kem.native.reason}`);

  out.push('', '2. Client negotiation on the real bed (pqpsk negotiate --json in the client namespace; pqpsk server in the relay namespace)');
  const n = r.negotiation;
  if (!n.measured) {
    out.push(`   not measured: ${n.reason}`);
  } else {
    const m = n.medians;
    const encaps = Object.entries(m.relayEncapsMs).map(([k, v]) => `${k} ${f1(v)}`).join(', ');
    out.push(`   medians of ${n.runs} negotiations (after 1 warm-up), ms:`);
    out.push(`   keygen ${f0(m.keygenMs)} | rpc ${f0(m.rpcMs)} (relay handler ${f1(m.relayHandlerMs)}: ${encaps}) | decaps ${f0(m.decapsMs)} | switch ${f0(m.switchMs)} | verify ${f0(m.verifyMs)}`);
    out.push(`   negotiation without verify (keygen + rpc + decaps + switch)   ${f0(m.withoutVerifyMs).padStart(6)} ms   ← the target's "client total"`);
    out.push(
      `   hop total with verify (handshake + relay watcher + TCP)     ${f0(m.totalMs).padStart(6)} ms   (not the target's total; against the same bound it would be ${(m.totalMs / (LIMITS.negotiationFactor * n.cryptoSum.totalMs + LIMITS.negotiationSlackMs)).toFixed(1)} ×)`,
    );
    out.push(`   negotiate() end to end (reads the interface, may wait out the handshake second) ${f0(m.negotiateMs)} ms`);
    out.push(`   pqpsk negotiate process, spawn to exit (node start-up)       ${f0(m.processMs).padStart(6)} ms`);
    const c = n.cryptoSum;
    out.push(`   crypto sum (this run's KEM medians): client keygen ${f1(c.clientKeygenMs)} + relay encaps ${f1(c.relayEncapsMs)} + client decaps ${f1(c.clientDecapsMs)} = ${f1(c.totalMs)} ms`);
    out.push(
      `   client crypto cold, in a fresh process as negotiate runs it: keygen ${f1(n.coldClient.keygenMs)} + decaps ${f1(n.coldClient.decapsMs)} (+ relay encaps ${f1(c.relayEncapsMs)}) = ${f1(n.coldClient.cryptoSumMs)} ms`,
    );
  }

  out.push('', '3. Relay throughput (loopback gRPC, a fresh connection per call; raw = HQC-256 encapsulations on a bare pool, same workers, same number in flight,');
  out.push('   measured just before and just after each relay row: raw/s is their mean, the spread is shown)');
  out.push(
    `   ${'wg'.padEnd(12)} ${'workers'.padStart(7)} ${'clients'.padStart(7)} ${'regs/s'.padStart(7)} ${'raw/s'.padStart(7)} ${'spread'.padStart(11)} ${'ratio'.padStart(6)} ${'p50 ms'.padStart(7)} ${'loop p99'.padStart(8)}  handler ms = max(HQC, ML-KEM) + other CPU ms/reg  relay loop  load thread`,
  );
  for (const row of r.throughput.rows) {
    const b = row.breakdown;
    const split = `${f1(b.handlerMs)} = max(${f1(b.encapsMs['HQC-256'] ?? Number.NaN)}, ${f1(b.encapsMs['ML-KEM-1024'] ?? Number.NaN)}) + ${f1(b.otherMs)}`;
    out.push(
      `   ${row.wg.padEnd(12)} ${String(row.workers).padStart(7)} ${String(row.clients).padStart(7)} ${f1(row.registrationsPerSecond).padStart(7)} ${f1(row.rawEncapsPerSecond).padStart(7)} ${`${f0(row.rawBeforeAfter[0])}/${f0(row.rawBeforeAfter[1])}`.padStart(11)} ${row.ratio.toFixed(2).padStart(6)} ${f1(row.latencyP50Ms).padStart(7)} ${f1(row.eventLoopP99Ms).padStart(8)}  ${split.padEnd(33)} ${f1(row.cpu.processMsPerRegistration).padStart(10)} ${`${f0(row.cpu.relayLoopBusy * 100)}%`.padStart(10)} ${`${f0(row.cpu.loadLoopBusy * 100)}%`.padStart(11)}` +
        (Object.keys(row.failures).length > 0 ? `  failures ${JSON.stringify(row.failures)}` : ''),
    );
  }
  if (!r.throughput.real.measured) out.push(`   wireguard-go rows not measured: ${r.throughput.real.reason}`);

  out.push('', '4. Relay memory (the relay in a process of its own; RSS after a forced GC)');
  const idle = r.memory.idle;
  out.push(isMeasured(idle) ? `   idle relay, 0 peers: RSS ${mb(idle.rssBytes)}, V8 heap used ${mb(idle.heapUsedBytes)}` : `   idle relay: not measured: ${idle.reason}`);
  const ten = r.memory.tenThousand;
  if (isMeasured(ten)) {
    out.push(
      `   ${ten.peers} ephemerals (in-memory WireGuard; ${ten.peers - ten.registrations} loaded from the book at start, ${ten.registrations} registered over gRPC): RSS ${mb(ten.loaded.rssBytes)}, heap used ${mb(ten.loaded.heapUsedBytes)} (V8 reserves new ${mb(ten.loaded.newSpaceBytes)}, old ${mb(ten.loaded.oldSpaceBytes)})`,
    );
    out.push(
      `      at this size: start-up (book load + reconcile) ${f0(ten.startMs)} ms, registration p50 ${f0(ten.latencyP50Ms)} ms with ${ten.concurrency} clients, one watcher pass ${f0(ten.watcherPassMs)} ms of event loop`,
    );
  } else {
    out.push(`   10 000 peers: not measured: ${ten.reason}`);
  }
  const real = r.memory.realThousand;
  if (isMeasured(real)) {
    out.push(
      `   ${real.peers} ephemerals registered over gRPC on wireguard-go: relay RSS ${mb(real.loaded.rssBytes)}, heap used ${mb(real.loaded.heapUsedBytes)}; wireguard-go's own RSS ${mb(real.wireguardGoRssBytes)} (not included)`,
    );
    out.push(`      filled at ${f1(real.registrationsPerSecond)} regs/s (registration p50 ${f0(real.latencyP50Ms)} ms with ${real.concurrency} clients); one watcher pass ${f0(real.watcherPassMs)} ms`);
  } else {
    out.push(`   1 000 on wireguard-go: not measured: ${real.reason}`);
  }

  out.push('', 'Targets (printed, never asserted)');
  for (const t of r.targets) {
    const figure = t.value === null ? '' : `${f1(t.value)} ${t.unit} vs ${t.limit === null ? '—' : f1(t.limit)} ${t.unit}`;
    out.push(`   ${t.status.toUpperCase().padEnd(12)} ${t.target}: ${figure}${t.note === '' ? '' : `  (${t.note})`}`);
  }
  return out.join('\n');
}
