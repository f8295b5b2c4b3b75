/**
 * `npm run bench [-- --quick] [-- --json] [-- --only kem,startup]`: every performance
 * figure from ONE run on this machine — KEM timings, client negotiation on the real bed
 * against the crypto it contains, relay throughput against a server doing only gRPC
 * and the KEM work on the same workers, relay memory, CLI start-up — and the targets as pass/miss lines. A table by
 * default, one JSON object with `--json`. Progress goes to stderr so `--json` output
 * stays machine-readable. `--only` runs the named sections (the rest say they were not
 * selected), for measuring one part on a busy machine.
 *
 * The sections are in sections/ (one file each, listed in report.ts); the plans (how
 * much each measures, full or quick) in plan.ts; the measuring machinery in harness/.
 *
 * Namespaces and wireguard-go are only used when this machine can build the bed (root,
 * wireguard-go, wg, ip); otherwise those rows say why they were not measured. Every
 * namespace is torn down in `finally` (and by the bed's signal handlers on Ctrl-C).
 * `--quick` is a smoke run of every code path that needs no bed: a few seconds, figures
 * not meaningful; test/bench/ runs it so the script cannot rot.
 *
 * The throughput section runs the relay inside this process, so the bench runs under the
 * installed `pqpsk`'s memory settings (src/launch.ts): started without them, it
 * starts itself again through the same launcher words and passes the exit code on.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NODE_FLAGS, launcherArgv } from '../src/launch.js';
import { bedPrerequisites, buildBareInterfaces, type BareInterfaces } from '../src/testbed/index.js';
import { FULL, QUICK } from './plan.js';
import { SECTIONS, formatReport, targetsOf, type BenchReport, type SectionName, type Sections } from './report.js';
import { reasonOf, type BenchContext, type BenchSection } from './section.js';

const t0 = performance.now();
const say = (line: string): void => {
  process.stderr.write(`bench: [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

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

/** Run the sections `only` names (all when null); tears down what it built whatever happens. */
export async function runBench(quick: boolean, only: ReadonlySet<SectionName> | null = null): Promise<BenchReport> {
  const plan = quick ? QUICK : FULL;
  const started = performance.now();
  const loadAverageBefore = loadavg()[0] ?? Number.NaN;
  const cpuBefore = await cpuTimes();
  const prereq = bedPrerequisites();
  let bare: Promise<BareInterfaces> | undefined;
  const ctx: BenchContext = {
    plan,
    quick,
    say,
    bedUnavailable: (what) => {
      if (quick) return { measured: false, reason: `--quick skips the real bed (${what})` };
      return prereq.ok ? null : { measured: false, reason: `real bed unavailable: ${prereq.reason}` };
    },
    bareInterfaces: () => (bare ??= buildBareInterfaces(['tb', 'mb'])),
  };

  const done: Partial<Record<SectionName, unknown>> = {};
  const runSection = async <K extends SectionName>(section: BenchSection<K>): Promise<void> => {
    done[section.key] = only === null || only.has(section.key) ? await section.measure(ctx, done as Partial<Sections>) : section.skipped(`not selected (--only ${[...only].join(',')})`);
  };
  try {
    for (const section of SECTIONS) await runSection(section);
  } finally {
    if (bare !== undefined) {
      const built = await bare.catch(() => undefined);
      const down = await built?.bed.teardown();
      if (down !== undefined && down.leftovers.length > 0) say(`WARNING: bed teardown left ${down.leftovers.join(', ')}`);
    }
  }

  const sections = done as Sections;
  return {
    version: 1,
    quick,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    loadAverageBefore,
    stealPercent: stealPercent(cpuBefore, await cpuTimes()),
    seconds: (performance.now() - started) / 1000,
    ...sections,
    targets: targetsOf(sections),
  };
}

const FLAGS = `flags: --only ${SECTIONS.map((s) => s.key).join(',')}, --quick, --json`;

async function main(): Promise<void> {
  let values: { quick?: boolean; json?: boolean; only?: string };
  let only: Set<SectionName> | null = null;
  try {
    ({ values } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, only: { type: 'string' } } }));
    if (values.only !== undefined) {
      const names = values.only.split(',');
      const unknown = names.filter((n) => !SECTIONS.some((s) => s.key === n));
      if (unknown.length > 0) throw new Error(`--only: no section ${unknown.join(', ')}`);
      only = new Set(names as SectionName[]);
    }
  } catch (err) {
    process.stderr.write(`pqpsk bench: ${err instanceof Error ? err.message : 'bad arguments'} (${FLAGS})\n`);
    process.exitCode = 2;
    return;
  }
  const report = await runBench(values.quick === true, only);
  process.stdout.write(values.json === true ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
}

/** This bench again under pqpsk's memory settings, unless it already runs with them; resolves to whether it did. */
async function relaunchedWithSettings(): Promise<boolean> {
  if (NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) return false;
  const [file, ...args] = launcherArgv(process.execPath);
  const child = spawn(file!, [...args, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches both processes from the terminal; the child tears its bed down and exits.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.exitCode = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code) => resolve(code ?? 1));
  });
  return true;
}

try {
  if (!(await relaunchedWithSettings())) await main();
} catch (err) {
  process.stderr.write(`pqpsk bench: ${reasonOf(err)}\n`);
  process.exitCode = 1;
}
