/**
 * Section 3: relay registrations per second over loopback gRPC, each row held against raw
 * HQC-256 encapsulations on a bare pool with the same workers and the same number in
 * flight; on the in-memory `wg`, then on wireguard-go with the book in a file as in
 * production.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBookStore } from '../../src/server/book-store.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { RealWgControl } from '../../src/wg/real.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import { measureRawHqc } from '../harness/raw-hqc.js';
import { measureCeiling, ratioCeiling, type CeilingResult } from '../harness/relay-ceiling.js';
import { measureRelay, type RelayBenchOptions, type RelayBreakdown, type RelayCpu } from '../harness/relay-load.js';
import { f0, f1 } from '../harness/stats.js';
import { isMeasured, reasonOf, statusOf, unmeasuredTarget, type BenchContext, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

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

/** The ceiling row (see relay-ceiling.ts), and the raw HQC-256 rate it is held against. */
export interface CeilingRow extends CeilingResult {
  /** Workers of the raw HQC-256 measurement it is held against. */
  readonly workers: number;
  readonly rawEncapsPerSecond: number;
  /** The most registrations ÷ raw any relay on this stack could reach here. */
  readonly ratioBound: number;
}

/** Every row of this run, and whether the wireguard-go rows were measured. */
export interface ThroughputSection {
  readonly rows: readonly ThroughputRow[];
  readonly ceiling: CeilingRow | NotMeasured;
  readonly real: NotMeasured | { readonly measured: true };
  readonly mceliece: McElieceRow | NotMeasured;
}

/** The goals this section is held against. */
export const THROUGHPUT_LIMITS = Object.freeze({ ratio: 0.85, eventLoopP99Ms: 50 });

/**
 * One row: raw HQC-256 on a bare pool just before and just after the relay's
 * measurement (same workers, same number in flight), so a machine that speeds up or
 * slows down during the run (other tenants, CPU steal) moves both sides of the ratio.
 */
async function throughputRow(
  ctx: BenchContext,
  wg: ThroughputRow['wg'],
  workers: number,
  clients: number,
  extra: Partial<RelayBenchOptions> = {},
): Promise<ThroughputRow> {
  const plan = ctx.plan;
  const rawOnce = async (): Promise<number> => (await measureRawHqc({ workers, concurrency: clients, seconds: plan.rawSeconds })).perSecond;
  const before = await rawOnce();
  const r = await measureRelay({ clients, hqcWorkers: workers, seconds: plan.relaySeconds, warmupSeconds: plan.relayWarmup, ...extra });
  const after = await rawOnce();
  const raw = (before + after) / 2;
  return {
    wg,
    workers,
    clients,
    seconds: r.seconds,
    registrationsPerSecond: r.registrationsPerSecond,
    rawEncapsPerSecond: raw,
    rawBeforeAfter: [before, after],
    ratio: r.registrationsPerSecond / raw,
    latencyP50Ms: r.latencyMs.p50,
    eventLoopP99Ms: r.eventLoopDelayMs.p99,
    healthzP99Ms: r.healthzMs.p99,
    breakdown: r.breakdown,
    cpu: r.cpu,
    failures: r.failures,
  };
}

/** The wireguard-go rows: the real `wg` on a bare interface, the book written to a file. */
async function realRows(ctx: BenchContext, rows: ThroughputRow[]): Promise<ThroughputSection['real']> {
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
    for (const clients of ctx.plan.realClients) {
      ctx.say(`relay throughput, wireguard-go: 2 HQC workers, ${clients} client(s) (book written to a file, as in production)`);
      rows.push(await throughputRow(ctx, 'wireguard-go', 2, clients, { wg: { control: wg, iface, parent }, store: new FileBookStore(bookDir, iface) }));
    }
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

/**
 * The ceiling row: gRPC and ML-KEM-1024 alone, with as many clients as the largest row,
 * between two raw HQC-256 measurements on one worker per core (the relay's default).
 */
async function ceilingRow(ctx: BenchContext): Promise<CeilingRow | NotMeasured> {
  const clients = Math.max(...ctx.plan.rows.map((r) => r.clients));
  const workers = Math.max(...ctx.plan.rows.map((r) => r.workers));
  ctx.say(`ceiling: gRPC and ML-KEM-1024 alone (no HQC, no wg), ${clients} clients, and raw HQC-256 on ${plural(workers, 'worker')}`);
  const raw = (): Promise<number> => measureRawHqc({ workers, concurrency: clients, seconds: ctx.plan.rawSeconds }).then((r) => r.perSecond);
  const before = await raw();
  const r = await measureCeiling({ clients, seconds: ctx.plan.relaySeconds, warmupSeconds: ctx.plan.relayWarmup });
  const rawEncapsPerSecond = (before + (await raw())) / 2;
  return { ...r, workers, rawEncapsPerSecond, ratioBound: ratioCeiling(r.callsPerSecond, rawEncapsPerSecond, workers, availableParallelism()) };
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

export const throughputSection: BenchSection<'throughput'> = {
  key: 'throughput',
  heading:
    '3. Relay throughput (loopback gRPC, a fresh connection per call; raw = HQC-256 encapsulations on a bare pool, same workers, same number in flight,\n' +
    '   measured just before and just after each relay row: raw/s is their mean, the spread is shown)',
  async measure(ctx) {
    const rows: ThroughputRow[] = [];
    for (const { workers, clients } of ctx.plan.rows) {
      ctx.say(`relay throughput, fake wg: ${workers} HQC worker(s), ${clients} client(s), and raw HQC-256 on the same`);
      rows.push(await throughputRow(ctx, 'fake', workers, clients));
    }
    const ceiling = await ceilingRow(ctx);
    const real = await realRows(ctx, rows);
    return { rows, ceiling, real, mceliece: await mcelieceRow(ctx) };
  },
  skipped: (reason) => ({ rows: [], ceiling: { measured: false, reason }, real: { measured: false, reason }, mceliece: { measured: false, reason } }),
  format(t) {
    const out = [
      `   ${'wg'.padEnd(12)} ${'workers'.padStart(7)} ${'clients'.padStart(7)} ${'regs/s'.padStart(7)} ${'raw/s'.padStart(7)} ${'spread'.padStart(11)} ${'ratio'.padStart(6)} ${'p50 ms'.padStart(7)} ${'loop p99'.padStart(8)}  handler ms = max(HQC, ML-KEM) + other CPU ms/reg  relay loop  load thread`,
    ];
    for (const row of t.rows) {
      const b = row.breakdown;
      const split = `${f1(b.handlerMs)} = max(${f1(b.encapsMs['HQC-256'] ?? Number.NaN)}, ${f1(b.encapsMs['ML-KEM-1024'] ?? Number.NaN)}) + ${f1(b.otherMs)}`;
      out.push(
        `   ${row.wg.padEnd(12)} ${String(row.workers).padStart(7)} ${String(row.clients).padStart(7)} ${f1(row.registrationsPerSecond).padStart(7)} ${f1(row.rawEncapsPerSecond).padStart(7)} ${`${f0(row.rawBeforeAfter[0])}/${f0(row.rawBeforeAfter[1])}`.padStart(11)} ${row.ratio.toFixed(2).padStart(6)} ${f1(row.latencyP50Ms).padStart(7)} ${f1(row.eventLoopP99Ms).padStart(8)}  ${split.padEnd(33)} ${f1(row.cpu.processMsPerRegistration).padStart(10)} ${`${f0(row.cpu.relayLoopBusy * 100)}%`.padStart(10)} ${`${f0(row.cpu.loadLoopBusy * 100)}%`.padStart(11)}` +
          (Object.keys(row.failures).length > 0 ? `  failures ${JSON.stringify(row.failures)}` : ''),
      );
    }
    if (!t.real.measured) out.push(`   wireguard-go rows not measured: ${t.real.reason}`);
    const c = t.ceiling;
    if (!isMeasured(c)) out.push(`   ceiling row not measured: ${c.reason}`);
    else {
      out.push(
        '',
        `   ceiling: the same load against gRPC and ML-KEM-1024 alone (no HQC, no wg, an HQC-sized answer of random bytes), ${c.clients} clients:`,
        `   ${f1(c.callsPerSecond)} calls/s, ${f1(c.cpuMsPerCall)} ms CPU per call (server and load thread), ${c.coresBusy.toFixed(2)} of ${availableParallelism()} cores busy; raw HQC-256 ${f1(c.rawEncapsPerSecond)}/s on the same cores,`,
        `   so while the cores are the limit no relay on this stack reaches more than ${c.ratioBound.toFixed(2)} of raw here (${plural(c.workers, 'worker')} on ${plural(availableParallelism(), 'core')}` +
          `${c.workers === availableParallelism() ? ': calls ÷ (calls + raw)' : ''}; each row's own bound is in its target line)` +
          (Object.keys(c.failures).length > 0 ? `  failures ${JSON.stringify(c.failures)}` : ''),
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
          (Object.keys(m.failures).length > 0 ? `  failures ${JSON.stringify(m.failures)}` : ''),
      );
    }
    return out;
  },
  targets(t) {
    const lines: TargetLine[] = [];
    const c = t.ceiling;
    for (const row of t.rows) {
      // The ceiling row's calls/s against this row's own raw figure and workers.
      const ceiling = isMeasured(c) ? `; at most ${ratioCeiling(c.callsPerSecond, row.rawEncapsPerSecond, row.workers, availableParallelism()).toFixed(2)} on this machine (ceiling row)` : '';
      const limit = THROUGHPUT_LIMITS.ratio * row.rawEncapsPerSecond;
      lines.push({
        target: `regs/s ≥ 0.85 × raw HQC encaps/s (${row.wg}, ${plural(row.workers, 'worker')}, ${plural(row.clients, 'client')})`,
        value: row.registrationsPerSecond,
        limit,
        unit: '/s',
        status: statusOf(row.registrationsPerSecond, limit, false),
        note: `ratio ${row.ratio.toFixed(2)}${ceiling}`,
      });
    }
    if (!t.real.measured) lines.push(unmeasuredTarget('regs/s ≥ 0.85 × raw HQC encaps/s (wireguard-go)', '/s', t.real.reason));
    for (const row of t.rows.filter((r) => r.clients > 1)) {
      lines.push({
        target: `event-loop p99 ≤ 50 ms while saturated (${row.wg}, ${plural(row.workers, 'worker')}, ${row.clients} clients)`,
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
