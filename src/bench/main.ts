/**
 * `npm run bench [-- --quick] [-- --json]`: every performance figure from ONE run on this
 * machine — KEM timings, client negotiation on the real bed against the crypto it
 * contains, relay throughput against raw HQC-256 on the same workers, relay memory — and
 * the targets as pass/miss lines. A table by default, one JSON object with `--json`.
 * Progress goes to stderr so `--json` output stays machine-readable.
 *
 * Namespaces and wireguard-go are only used when this machine can build the bed (root,
 * wireguard-go, wg, ip); otherwise those rows say why they were not measured. Every
 * namespace is torn down in `finally` (and by the bed's signal handlers on Ctrl-C).
 * `--quick` is a smoke run of every code path that needs no bed: a few seconds, figures
 * not meaningful; test/bench/ runs it so the script cannot rot.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isPqpskError } from '../errors.js';
import { FileBookStore } from '../server/book-store.js';
import { bedPrerequisites } from '../testbed/index.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import { RealWgControl } from '../wg/real.js';
import { measureColdClientCrypto } from './cold-crypto.js';
import { measureAllKems } from './kem.js';
import { measureIdleRelay, measureRelayMemory, randomParents } from './memory.js';
import { measureNativePqclean } from './native.js';
import { measureNegotiation } from './negotiation.js';
import { measureRawHqc } from './raw-hqc.js';
import { measureRelay, type RelayBenchOptions } from './relay.js';
import {
  cryptoSumOf,
  formatReport,
  targetsOf,
  type BenchReport,
  type MemorySection,
  type NegotiationSection,
  type NotMeasured,
  type ThroughputRow,
} from './report.js';
import { sourceAddress } from './source-client.js';
import { buildWgBench, type WgBench } from './wg-bed.js';

interface Plan {
  readonly kemIterations: { 'ML-KEM-1024': number; 'HQC-256': number };
  readonly negotiations: number;
  readonly rows: readonly { workers: number; clients: number }[];
  readonly realClients: readonly number[];
  readonly relaySeconds: number;
  readonly relayWarmup: number;
  readonly rawSeconds: number;
  readonly seedLive: number;
  readonly freshParents: number;
  readonly realPeers: number;
}

const FULL: Plan = {
  kemIterations: { 'ML-KEM-1024': 200, 'HQC-256': 30 },
  negotiations: 5,
  // Two workers = one per core (the relay's default); the 1-worker row leaves a core to
  // the event loop and the load generator, to show what the ratio is bounded by.
  rows: [
    { workers: 2, clients: 1 },
    { workers: 2, clients: 8 },
    { workers: 2, clients: 64 },
    { workers: 1, clients: 8 },
  ],
  realClients: [1, 8, 64],
  relaySeconds: 3,
  relayWarmup: 0.7,
  rawSeconds: 1.2,
  seedLive: 10_000,
  freshParents: 20,
  realPeers: 1_000,
};

const QUICK: Plan = {
  kemIterations: { 'ML-KEM-1024': 20, 'HQC-256': 4 },
  negotiations: 0,
  rows: [{ workers: 1, clients: 2 }],
  realClients: [],
  relaySeconds: 1,
  relayWarmup: 0.3,
  rawSeconds: 0.5,
  seedLive: 300,
  freshParents: 5,
  realPeers: 0,
};

const t0 = performance.now();
const say = (line: string): void => {
  process.stderr.write(`bench: [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

function reasonOf(err: unknown): string {
  if (isPqpskError(err)) return err.message;
  return err instanceof Error ? `unexpected ${err.name}: ${err.message.split('\n')[0]}` : 'unexpected error';
}

/**
 * One row: raw HQC-256 on a bare pool just before and just after the relay's
 * measurement (same workers, same number in flight), so a machine that speeds up or
 * slows down during the run (other tenants, CPU steal) moves both sides of the ratio.
 */
async function throughputRow(
  wg: ThroughputRow['wg'],
  workers: number,
  clients: number,
  plan: Plan,
  extra: Partial<RelayBenchOptions> = {},
): Promise<ThroughputRow> {
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

/** The aggregate `cpu` line of /proc/stat: [steal, total] in clock ticks, or null off Linux. */
async function cpuTimes(): Promise<[number, number] | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    return [ticks[7] ?? 0, ticks.slice(0, 8).reduce((a, b) => a + b, 0)];
  } catch {
    return null;
  }
}

/** Share of CPU time the hypervisor gave to others during the run (noisy neighbours skew every figure). */
function stealPercent(before: [number, number] | null, after: [number, number] | null): number | null {
  if (before === null || after === null || after[1] === before[1]) return null;
  return (100 * (after[0] - before[0])) / (after[1] - before[1]);
}

async function rssOfPid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kib === undefined ? Number.NaN : Number(kib) * 1024;
}

/** Run everything the plan asks for; tears down what it built whatever happens. */
export async function runBench(quick: boolean): Promise<BenchReport> {
  const plan = quick ? QUICK : FULL;
  const started = performance.now();
  const loadAverageBefore = loadavg()[0] ?? Number.NaN;
  const cpuBefore = await cpuTimes();
  const prereq = bedPrerequisites();
  const noBed = (what: string): NotMeasured => ({
    measured: false,
    reason: quick ? `--quick skips the real bed (${what})` : prereq.ok ? 'not attempted' : `real bed unavailable: ${prereq.reason}`,
  });

  say('KEM operations');
  const timings = await measureAllKems(plan.kemIterations);
  const native = await measureNativePqclean(plan.kemIterations);

  let negotiation: NegotiationSection = noBed('client negotiation');
  if (!quick && prereq.ok) {
    say(`client negotiation on the real bed (${plan.negotiations} runs + 1 warm-up)`);
    const result = await measureNegotiation(plan.negotiations);
    if (result.measured) {
      const cryptoSum = cryptoSumOf(timings);
      const cold = await measureColdClientCrypto();
      negotiation = {
        measured: true,
        runs: result.runs,
        medians: result.medians,
        samples: result.samples,
        cryptoSum,
        coldClient: { ...cold, cryptoSumMs: cold.keygenMs + cryptoSum.relayEncapsMs + cold.decapsMs },
      };
      if (result.leftovers.length > 0) say(`WARNING: bed teardown left ${result.leftovers.join(', ')}`);
    } else {
      negotiation = result;
    }
  }

  const rows: ThroughputRow[] = [];
  for (const { workers, clients } of plan.rows) {
    say(`relay throughput, fake wg: ${workers} HQC worker(s), ${clients} client(s), and raw HQC-256 on the same`);
    rows.push(await throughputRow('fake', workers, clients, plan));
  }

  let real: NotMeasured | { measured: true } = noBed('wireguard-go throughput');
  let realThousand: MemorySection['realThousand'] = noBed('wireguard-go memory');
  let tenThousand: MemorySection['tenThousand'] = { measured: false, reason: 'not attempted' };
  let idle: MemorySection['idle'] = { measured: false, reason: 'not attempted' };
  let wgBench: WgBench | undefined;
  const bookDir = await mkdtemp(join(tmpdir(), 'pqpsk-bench-book-'));
  try {
    if (!quick && prereq.ok) {
      try {
        wgBench = await buildWgBench(['tb', 'mb']);
      } catch (err) {
        const reason = `could not start wireguard-go: ${reasonOf(err)}`;
        real = { measured: false, reason };
        realThousand = { measured: false, reason };
      }
    }
    if (wgBench !== undefined) {
      const iface = wgBench.ifaces[0]!;
      const wg = new RealWgControl();
      const parent = publicKeyOf(generatePrivateKey());
      await wg.set(iface, { peers: [{ publicKey: publicKeyToText(parent), allowedIps: ['127.0.0.1/32'] }] });
      for (const clients of plan.realClients) {
        say(`relay throughput, wireguard-go: 2 HQC workers, ${clients} client(s) (book written to a file, as in production)`);
        rows.push(await throughputRow('wireguard-go', 2, clients, plan, { wg: { control: wg, iface, parent }, store: new FileBookStore(bookDir, iface) }));
      }
      real = { measured: true };
    }

    say('relay memory: idle relay');
    idle = await measureIdleRelay('pqidle0', 2);
    say(`relay memory: ${plan.seedLive} live ephemerals + ${plan.freshParents} registrations`);
    tenThousand = await measureRelayMemory({
      mode: 'memory',
      iface: 'pqmem0',
      seedLive: plan.seedLive,
      freshParents: plan.freshParents,
      hqcRegistrations: plan.freshParents,
      hqcWorkers: 2,
      concurrency: 8,
      // One pass at this size takes seconds; it is run once, explicitly, and timed.
      poll: { fastMs: 3_600_000, idleMs: 3_600_000, freshMs: 0 },
    });

    if (wgBench !== undefined && plan.realPeers > 0) {
      say(`relay memory: ${plan.realPeers} registrations on wireguard-go`);
      const iface = wgBench.ifaces[1]!;
      const pid = wgBench.pids[1]!;
      const parents = randomParents(plan.realPeers);
      await new RealWgControl().set(iface, { peers: parents.map((p, i) => ({ publicKey: p, allowedIps: [`${sourceAddress(i)}/32`] })) });
      let wireguardGoRssBytes = Number.NaN;
      const result = await measureRelayMemory({
        mode: 'real',
        iface,
        parents,
        hqcRegistrations: 50,
        hqcWorkers: 2,
        concurrency: 16,
        beforeStop: async () => {
          wireguardGoRssBytes = await rssOfPid(pid);
        },
      });
      realThousand = { ...result, wireguardGoRssBytes };
    }
  } catch (err) {
    const reason = `failed: ${reasonOf(err)}`;
    say(reason);
    if (!('peers' in tenThousand)) tenThousand = { measured: false, reason };
  } finally {
    if (wgBench !== undefined) {
      const down = await wgBench.bed.teardown();
      if (down.leftovers.length > 0) say(`WARNING: bed teardown left ${down.leftovers.join(', ')}`);
    }
    await rm(bookDir, { recursive: true, force: true });
  }

  const partial: Omit<BenchReport, 'targets'> = {
    version: 1,
    quick,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    loadAverageBefore,
    stealPercent: stealPercent(cpuBefore, await cpuTimes()),
    seconds: (performance.now() - started) / 1000,
    kem: { timings, native },
    negotiation,
    throughput: { rows, real },
    memory: { idle, tenThousand, realThousand },
  };
  return { ...partial, targets: targetsOf(partial) };
}

async function main(): Promise<void> {
  let values: { quick?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'boolean' } } }));
  } catch (err) {
    process.stderr.write(`pqpsk bench: ${err instanceof Error ? err.message : 'bad arguments'} (flags: --quick, --json)\n`);
    process.exitCode = 2;
    return;
  }
  const report = await runBench(values.quick === true);
  process.stdout.write(values.json === true ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`pqpsk bench: ${reasonOf(err)}\n`);
  process.exitCode = 1;
}
