/**
 * Section 3: relay registrations per second over loopback gRPC, each row held against a
 * ceiling measured just before and just after it — the same load against a server that
 * does only gRPC and the KEM work (relay-ceiling.ts) — and the relay's own CPU per
 * registration against the CPU of that KEM work measured beside it; on the in-memory
 * `wg`, then on wireguard-go with the book in a file as in production. A profile of the
 * relay's event loop under load says where the CPU beyond the KEMs goes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { RealWgControl } from '../../src/wg/real.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import type { ProfileSummary } from '../harness/cpu-profile.js';
import { measureKemCpu, type KemCpu } from '../harness/kem-cpu.js';
import { measureCeiling } from '../harness/relay-ceiling.js';
import { measureRelay, type CallFigure, type RelayBenchOptions, type RelayBreakdown, type RelayCpu, type StepFigure } from '../harness/relay-load.js';
import { f0, f1 } from '../harness/stats.js';
import { isMeasured, reasonOf, statusOf, unmeasuredTarget, type BenchContext, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

type WgKind = 'fake' | 'wireguard-go';

/** One throughput row: the relay against its ceiling, on the same workers and clients. */
export interface ThroughputRow {
  readonly wg: WgKind;
  readonly workers: number;
  readonly clients: number;
  readonly seconds: number;
  readonly registrationsPerSecond: number;
  /** Mean of the ceiling's calls/s measured just before and just after the relay's. */
  readonly ceilingPerSecond: number;
  readonly ceilingBeforeAfter: readonly [number, number];
  /** registrations/s ÷ ceiling calls/s. */
  readonly ratio: number;
  /** The ceiling server's own CPU per call, ms (mean of before and after; null where unknown). */
  readonly ceilingCpuMs: number | null;
  /** The KEM work of one registration, timed just before the row. */
  readonly kemCpu: KemCpu;
  /** The relay's own CPU per registration ÷ kemCpu.totalMs (null where unknown). */
  readonly cpuRatio: number | null;
  readonly latencyP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly healthzP99Ms: number;
  readonly breakdown: RelayBreakdown;
  readonly cpu: RelayCpu;
  /** The `wg` calls and book saves the relay waited for. */
  readonly calls: readonly CallFigure[];
  /** A registration's window at the relay split by what ran meanwhile (medians and means, ms). */
  readonly steps: readonly StepFigure[];
  readonly failures: Readonly<Record<string, number>>;
}

/** A profiled run of the relay under load: where its event loop's CPU went. */
export interface ProfileRow {
  readonly wg: WgKind;
  readonly clients: number;
  readonly registrationsPerSecond: number;
  readonly summary: ProfileSummary;
}

/**
 * Requests as Mullvad's tool for wg-quick users sends them — Classic McEliece (a 524 160-byte
 * key) and ML-KEM-1024 — on the fake `wg`, with the relay's memory while they are in flight.
 */
export interface McElieceRow {
  readonly clients: number;
  readonly registrationsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly encapsMs: number;
  readonly rssPeakMb: number;
  readonly inflightPeak: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** Every row of this run, and whether the wireguard-go rows were measured. */
export interface ThroughputSection {
  readonly rows: readonly ThroughputRow[];
  readonly real: NotMeasured | { readonly measured: true };
  readonly profiles: readonly ProfileRow[];
  readonly mceliece: McElieceRow | NotMeasured;
}

/** The goals this section is held against. */
export const THROUGHPUT_LIMITS = Object.freeze({ ratio: 0.85, cpuRatio: 2.5, oneClientHandlerMs: 15, eventLoopP99Ms: 50 });

/**
 * Gap between `/healthz` probes in the rows: each probe is relay CPU that no registration
 * asked for, so the rows probe 10 times a second, enough for its p99 over a row.
 */
const PROBE_MS = 100;

/** Client counts whose rows carry the ratio and CPU goals. */
const GOAL_CLIENTS: readonly number[] = [8, 64];

/** The wireguard-go interface a row runs on, and its book store. */
type RealWg = Pick<RelayBenchOptions, 'wg' | 'store'>;

/**
 * One row: the KEM work timed, then the ceiling just before and just after the relay's
 * measurement (same workers, same clients), so a machine that speeds up or slows down
 * during the run (other tenants, CPU steal) moves both sides of the ratio.
 */
async function throughputRow(ctx: BenchContext, wg: WgKind, workers: number, clients: number, extra: RealWg = {}): Promise<ThroughputRow> {
  const plan = ctx.plan;
  const kemCpu = await measureKemCpu(plan.kemCpuIterations);
  const ceilingOnce = (): ReturnType<typeof measureCeiling> => measureCeiling({ clients, workers, seconds: plan.relaySeconds, warmupSeconds: plan.relayWarmup });
  const before = await ceilingOnce();
  const r = await measureRelay({ clients, hqcWorkers: workers, seconds: plan.relaySeconds, warmupSeconds: plan.relayWarmup, probeIntervalMs: PROBE_MS, timeCalls: true, ...extra });
  const after = await ceilingOnce();
  const ceiling = (before.callsPerSecond + after.callsPerSecond) / 2;
  const ceilingCpuMs = before.serverMsPerCall === null || after.serverMsPerCall === null ? null : (before.serverMsPerCall + after.serverMsPerCall) / 2;
  const relayCpu = r.cpu.relayMsPerRegistration;
  return {
    wg,
    workers,
    clients,
    seconds: r.seconds,
    registrationsPerSecond: r.registrationsPerSecond,
    ceilingPerSecond: ceiling,
    ceilingBeforeAfter: [before.callsPerSecond, after.callsPerSecond],
    ratio: r.registrationsPerSecond / ceiling,
    ceilingCpuMs,
    kemCpu,
    cpuRatio: relayCpu === null ? null : relayCpu / kemCpu.totalMs,
    latencyP50Ms: r.latencyMs.p50,
    eventLoopP99Ms: r.eventLoopDelayMs.p99,
    healthzP99Ms: r.healthzMs.p99,
    breakdown: r.breakdown,
    cpu: r.cpu,
    calls: r.calls ?? [],
    steps: r.steps ?? [],
    failures: mergeFailures(before.failures, r.failures, after.failures),
  };
}

/** Failures of the ceiling runs are prefixed so they are not taken for the relay's. */
function mergeFailures(before: Readonly<Record<string, number>>, relay: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { ...relay };
  for (const side of [before, after]) for (const [code, n] of Object.entries(side)) out[`ceiling ${code}`] = (out[`ceiling ${code}`] ?? 0) + n;
  return out;
}

/** A profiled relay run (its figures are not a row's: the profiler slows it). */
async function profileRun(ctx: BenchContext, wg: WgKind, extra: RealWg = {}): Promise<ProfileRow | null> {
  const clients = ctx.plan.profileClients;
  if (clients === 0) return null;
  ctx.say(`relay throughput, ${wg}: profiling the relay's event loop with ${clients} clients`);
  const r = await measureRelay({ clients, hqcWorkers: 2, seconds: ctx.plan.relaySeconds, warmupSeconds: ctx.plan.relayWarmup, probeIntervalMs: PROBE_MS, profile: `relay-${wg}`, ...extra });
  return r.profile === undefined ? null : { wg, clients, registrationsPerSecond: r.registrationsPerSecond, summary: r.profile };
}

/** The wireguard-go rows: the real `wg` on a bare interface, the book written to a file. */
async function realRows(ctx: BenchContext, rows: ThroughputRow[], profiles: ProfileRow[]): Promise<ThroughputSection['real']> {
  const unavailable = ctx.bedUnavailable('wireguard-go throughput');
  if (unavailable !== null) return unavailable;
  let iface: string;
  try {
    iface = (await ctx.bareInterfaces()).ifaces[0]!;
  } catch (err) {
    return { measured: false, reason: `could not start wireguard-go: ${reasonOf(err)}` };
  }
  const bookDir = await mkdtemp(join(tmpdir(), 'pqpsk-bench-book-'));
  // As `pqpsk server` runs it: every `wg` command started by the helper process.
  const spawner = new WgSpawner();
  try {
    const wg = new RealWgControl({ launcher: spawner });
    const parent = publicKeyOf(generatePrivateKey());
    await wg.set(iface, { peers: [{ publicKey: publicKeyToText(parent), allowedIps: ['127.0.0.1/32'] }] });
    const real = (): RealWg => ({ wg: { control: wg, iface, parent }, store: new FileBookStore(bookDir, iface) });
    for (const clients of ctx.plan.realClients) {
      ctx.say(`relay throughput, wireguard-go: 2 HQC workers, ${clients} client(s) (book written to a file, as in production), and the ceiling on the same`);
      rows.push(await throughputRow(ctx, 'wireguard-go', 2, clients, real()));
    }
    const profiled = await profileRun(ctx, 'wireguard-go', real());
    if (profiled !== null) profiles.push(profiled);
    return { measured: true };
  } catch (err) {
    const reason = `failed: ${reasonOf(err)}`;
    ctx.say(reason);
    return { measured: false, reason };
  } finally {
    spawner.close();
    await rm(bookDir, { recursive: true, force: true });
  }
}

/** The McEliece row: 2 workers (unused by these requests), as many clients as the plan says. */
async function mcelieceRow(ctx: BenchContext): Promise<McElieceRow | NotMeasured> {
  const clients = ctx.plan.mcelieceClients;
  if (clients === 0) return { measured: false, reason: 'not in this plan' };
  ctx.say(`relay throughput, fake wg: [Classic-McEliece-460896f-round3, ML-KEM-1024] requests, ${clients} clients`);
  const r = await measureRelay({
    clients,
    hqcWorkers: 2,
    seconds: ctx.plan.relaySeconds,
    warmupSeconds: ctx.plan.relayWarmup,
    kems: ['Classic-McEliece-460896f-round3', 'ML-KEM-1024'],
    samplePeaks: true,
  });
  return {
    clients,
    registrationsPerSecond: r.registrationsPerSecond,
    latencyP50Ms: r.latencyMs.p50,
    eventLoopP99Ms: r.eventLoopDelayMs.p99,
    encapsMs: r.breakdown.encapsMs['Classic-McEliece-460896f-round3'] ?? Number.NaN,
    rssPeakMb: r.peaks.rssMb,
    inflightPeak: r.peaks.inflight,
    failures: r.failures,
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const maybe = (x: number | null, digits = 1): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const failuresOf = (f: Readonly<Record<string, number>>): string => (Object.keys(f).length > 0 ? `  failures ${JSON.stringify(f)}` : '');
const rowName = (row: ThroughputRow): string => `${row.wg}, ${plural(row.workers, 'worker')}, ${plural(row.clients, 'client')}`;

/** The row behind the one-client latency goal: wireguard-go, one client. */
const oneClientRow = (t: ThroughputSection): ThroughputRow | undefined => t.rows.find((r) => r.wg === 'wireguard-go' && r.clients === 1);

export const throughputSection: BenchSection<'throughput'> = {
  key: 'throughput',
  heading:
    '3. Relay throughput (loopback gRPC, a fresh connection per call; ceiling = the same load against a server doing only gRPC and the KEM work —\n' +
    '   ML-KEM-1024 in-thread, HQC-256 on a pool of the same workers — measured just before and just after each relay row: ceil/s is their mean;\n' +
    "   CPU ms/reg is the relay's own (process minus the load thread's clock), KEM = one ML-KEM-1024 + one HQC-256 encapsulation timed beside the row)",
  async measure(ctx) {
    const rows: ThroughputRow[] = [];
    const profiles: ProfileRow[] = [];
    for (const { workers, clients } of ctx.plan.rows) {
      ctx.say(`relay throughput, fake wg: ${workers} HQC worker(s), ${clients} client(s), and the ceiling on the same`);
      rows.push(await throughputRow(ctx, 'fake', workers, clients));
    }
    const profiled = await profileRun(ctx, 'fake');
    if (profiled !== null) profiles.push(profiled);
    const real = await realRows(ctx, rows, profiles);
    return { rows, real, profiles, mceliece: await mcelieceRow(ctx) };
  },
  skipped: (reason) => ({ rows: [], real: { measured: false, reason }, profiles: [], mceliece: { measured: false, reason } }),
  format(t) {
    const out = [
      `   ${'wg'.padEnd(12)} ${'workers'.padStart(7)} ${'clients'.padStart(7)} ${'regs/s'.padStart(7)} ${'ceil/s'.padStart(7)} ${'spread'.padStart(9)} ${'ratio'.padStart(5)} ${'p50 ms'.padStart(7)} ${'loop p99'.padStart(8)}  ${'handler ms = max(HQC, ML-KEM) + other'.padEnd(37)} ${'CPU ms/reg'.padStart(10)} ${'ceil CPU'.padStart(8)} ${'KEM'.padStart(5)} ${'÷ KEM'.padStart(5)}`,
    ];
    for (const row of t.rows) {
      const b = row.breakdown;
      const split = `${f1(b.handlerMs)} = max(${f1(b.encapsMs['HQC-256'] ?? Number.NaN)}, ${f1(b.encapsMs['ML-KEM-1024'] ?? Number.NaN)}) + ${f1(b.otherMs)}`;
      out.push(
        `   ${row.wg.padEnd(12)} ${String(row.workers).padStart(7)} ${String(row.clients).padStart(7)} ${f1(row.registrationsPerSecond).padStart(7)} ${f1(row.ceilingPerSecond).padStart(7)} ${`${f0(row.ceilingBeforeAfter[0])}/${f0(row.ceilingBeforeAfter[1])}`.padStart(9)} ${row.ratio.toFixed(2).padStart(5)} ${f1(row.latencyP50Ms).padStart(7)} ${f1(row.eventLoopP99Ms).padStart(8)}  ${split.padEnd(37)} ${maybe(row.cpu.relayMsPerRegistration).padStart(10)} ${maybe(row.ceilingCpuMs).padStart(8)} ${f1(row.kemCpu.totalMs).padStart(5)} ${maybe(row.cpuRatio, 2).padStart(5)}` +
          failuresOf(row.failures),
      );
    }
    if (!t.real.measured) out.push(`   wireguard-go rows not measured: ${t.real.reason}`);
    for (const row of t.rows.filter((r) => r.clients === 1 || r.wg === 'wireguard-go')) {
      const calls = row.calls.map((c) => `${c.what} ${c.perRegistration.toFixed(2)}×${f1(c.medianMs)} ms`).join('; ');
      out.push(`   what the relay waited for per registration (${rowName(row)}; count × median): ${calls === '' ? 'nothing timed' : calls}`);
      if (row.steps.length > 0) {
        const steps = row.steps.map((st) => `${st.what} ${f1(st.medianMs)} (${f1(st.meanMs)})`).join('; ');
        out.push(`     request in → answer out by step, median (mean) ms — whoever's call it was, the poller's included; other = KEM step, lock queue, handler: ${steps}`);
      }
    }
    for (const p of t.profiles) {
      const s = p.summary;
      out.push(
        '',
        `   profile of the relay's event loop (${p.wg}, 2 workers, ${p.clients} clients, ${f1(p.registrationsPerSecond)} regs/s while profiled; ${f0(s.busyMs)} ms busy sampled${s.file === null ? '' : `, whole profile in ${s.file}`}):`,
        `   by module (self time): ${s.modules.map((m) => `${m.name} ${f0(m.share * 100)}%`).join(', ')}`,
        '   top functions (self time):',
        ...s.functions.map((f) => `     ${`${f0(f.share * 100)}%`.padStart(4)}  ${f.name}`),
      );
    }
    const m = t.mceliece;
    if (!isMeasured(m)) out.push(`   [Classic-McEliece-460896f-round3, ML-KEM-1024] row not measured: ${m.reason}`);
    else {
      out.push(
        '',
        `   [Classic-McEliece-460896f-round3, ML-KEM-1024] requests (526 KB each), fake wg: ${m.clients} clients, ${f1(m.registrationsPerSecond)} regs/s, ` +
          `p50 ${f1(m.latencyP50Ms)} ms, McEliece encapsulation ${f1(m.encapsMs)} ms (median), event-loop p99 ${f1(m.eventLoopP99Ms)} ms,`,
        `   peak RSS ${f0(m.rssPeakMb)} MB with ${m.clients} calls outstanding throughout (one process: relay, HQC workers, and the load thread holding its requests); ` +
          `at most ${m.inflightPeak} of them inside the relay's handler at a sample, the rest on the wire or being decoded` +
          failuresOf(m.failures),
      );
    }
    return out;
  },
  targets(t) {
    const lines: TargetLine[] = [];
    const goalRows = t.rows.filter((r) => GOAL_CLIENTS.includes(r.clients));
    for (const row of goalRows) {
      const limit = THROUGHPUT_LIMITS.ratio * row.ceilingPerSecond;
      lines.push({
        target: `regs/s ≥ 0.85 × ceiling calls/s (${rowName(row)})`,
        value: row.registrationsPerSecond,
        limit,
        unit: '/s',
        status: statusOf(row.registrationsPerSecond, limit, false),
        note: `ratio ${row.ratio.toFixed(2)}; ceiling ${f0(row.ceilingBeforeAfter[0])}/${f0(row.ceilingBeforeAfter[1])} before/after`,
      });
    }
    for (const row of goalRows) {
      lines.push({
        target: `relay CPU per registration ÷ its KEM work's CPU ≤ 2.5 (${rowName(row)})`,
        value: row.cpuRatio,
        limit: THROUGHPUT_LIMITS.cpuRatio,
        unit: '×',
        status: statusOf(row.cpuRatio, THROUGHPUT_LIMITS.cpuRatio, true),
        note: `${maybe(row.cpu.relayMsPerRegistration)} ms ÷ (${f1(row.kemCpu.mlKemMs)} ML-KEM + ${f1(row.kemCpu.hqcMs)} HQC) ms; the ceiling server: ${maybe(row.ceilingCpuMs)} ms per call`,
      });
    }
    if (!t.real.measured) {
      lines.push(unmeasuredTarget('regs/s ≥ 0.85 × ceiling calls/s (wireguard-go)', '/s', t.real.reason));
      lines.push(unmeasuredTarget('relay CPU per registration ÷ its KEM work ≤ 2.5 (wireguard-go)', '×', t.real.reason));
    }
    const one = oneClientRow(t);
    if (one === undefined) lines.push(unmeasuredTarget('one client on wireguard-go: registration at the relay, request in → answer out, median ≤ 15 ms', 'ms', t.real.measured ? 'not in this plan' : t.real.reason));
    else {
      lines.push({
        target: 'one client on wireguard-go: registration at the relay, request in → answer out, median ≤ 15 ms',
        value: one.breakdown.handlerMs,
        limit: THROUGHPUT_LIMITS.oneClientHandlerMs,
        unit: 'ms',
        status: statusOf(one.breakdown.handlerMs, THROUGHPUT_LIMITS.oneClientHandlerMs, true),
        note: `${f1(one.registrationsPerSecond)} regs/s, client p50 ${f1(one.latencyP50Ms)} ms; the relay's log field ms`,
      });
    }
    for (const row of t.rows.filter((r) => r.clients > 1)) {
      lines.push({
        target: `event-loop p99 ≤ 50 ms while saturated (${rowName(row)})`,
        value: row.eventLoopP99Ms,
        limit: THROUGHPUT_LIMITS.eventLoopP99Ms,
        unit: 'ms',
        status: statusOf(row.eventLoopP99Ms, THROUGHPUT_LIMITS.eventLoopP99Ms, true),
        note: 'includes the 5 ms sampling period',
      });
    }
    return lines;
  },
};
