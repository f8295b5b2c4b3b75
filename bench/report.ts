/**
 * The benchmark's one result object (what `--json` prints) and its table (the default),
 * put together from the sections in SECTIONS, in order. Pure: figures in, text out, so
 * the smoke test can check the table's shape without timing anything. Targets are the
 * project's performance goals, printed as lines with pass/miss — never asserted anywhere.
 */
import { kemSection, type KemSection } from './sections/kem.js';
import { memorySection, type MemorySection } from './sections/memory.js';
import { mullvadSection, type MullvadSection } from './sections/mullvad.js';
import { negotiationSection, type NegotiationSection } from './sections/negotiation.js';
import { startupSection, type StartupSection } from './sections/startup.js';
import { throughputSection, type ThroughputSection } from './sections/throughput.js';
import { floodSection, type FloodSection } from './sections/flood.js';
import { watcherSection, type WatcherSection } from './sections/watcher.js';
import { coldSection, type ColdSection } from './sections/cold.js';
import { herdSection, type HerdSection } from './sections/herd.js';
import type { BenchSection, TargetLine } from './section.js';
import { f1 } from './harness/stats.js';

export type { NotMeasured, TargetLine, TargetStatus } from './section.js';
export type { ColdSection, HerdSection, KemSection, MemorySection, MullvadSection, NegotiationSection, StartupSection, ThroughputSection, WatcherSection };
export type { ThroughputRow } from './sections/throughput.js';
export type { CryptoSum } from './sections/negotiation.js';

/** Every section's figures, by the section's key. */
export interface Sections {
  readonly kem: KemSection;
  readonly negotiation: NegotiationSection;
  readonly throughput: ThroughputSection;
  readonly memory: MemorySection;
  readonly startup: StartupSection;
  readonly watcher: WatcherSection;
  readonly flood: FloodSection;
  readonly mullvad: MullvadSection;
  readonly cold: ColdSection;
  readonly herd: HerdSection;
}

export type SectionName = keyof Sections;

/** The sections in the order they run and print. */
export const SECTIONS: readonly BenchSection<SectionName>[] = [kemSection, negotiationSection, throughputSection, memorySection, startupSection, watcherSection, floodSection, mullvadSection, coldSection, herdSection];

/** About the run itself. */
export interface RunInfo {
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
}

/** Everything one run measured; `--json` prints exactly this. */
export interface BenchReport extends RunInfo, Sections {
  readonly targets: readonly TargetLine[];
}

/** The target lines for a report's figures, section by section. */
export function targetsOf(sections: Sections): TargetLine[] {
  return SECTIONS.flatMap((s) => s.targets(sections[s.key]));
}

/** The human table. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [
    `pqpsk benchmark — node ${r.node}, ${r.cpus} × ${r.cpuModel}; load average ${r.loadAverageBefore.toFixed(2)} at start; CPU steal as /proc/stat reports it: ${r.stealPercent === null ? 'unknown' : `${r.stealPercent.toFixed(1)}%`}; ${r.quick ? 'QUICK smoke run (figures not meaningful)' : 'full run'}, ${r.seconds.toFixed(1)} s`,
  ];
  for (const s of SECTIONS) out.push('', s.heading, ...s.format(r[s.key]));
  out.push('', 'Targets (printed, never asserted)');
  for (const t of r.targets) {
    const figure = t.value === null ? '' : `${f1(t.value)} ${t.unit} vs ${t.limit === null ? '—' : f1(t.limit)} ${t.unit}`;
    out.push(`   ${t.status.toUpperCase().padEnd(12)} ${t.target}: ${figure}${t.note === '' ? '' : `  (${t.note})`}`);
  }
  return out.join('\n');
}
