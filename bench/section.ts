/**
 * What every section of the benchmark is: a key in the report, a heading in the table,
 * how to measure it, what it is when not measured, its table lines and its target lines.
 * report.ts lists the sections in order; main.ts runs them. A new figure goes into the
 * section it belongs to (sections/*.ts); a new kind of figure is a new section file
 * added to that list.
 */
import { isPqpskError } from '../src/errors.js';
import type { BareInterfaces } from '../src/testbed/index.js';
import type { Plan } from './plan.js';
import type { SectionName, Sections } from './report.js';

/** Something that was not measured, and the one-line reason. */
export interface NotMeasured {
  readonly measured: false;
  readonly reason: string;
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

/** A figure's status against a limit it must stay at or below (`atMost`) or reach. */
export function statusOf(value: number | null, limit: number | null, atMost: boolean): TargetStatus {
  if (value === null || limit === null || Number.isNaN(value) || Number.isNaN(limit)) return 'not measured';
  return (atMost ? value <= limit : value >= limit) ? 'pass' : 'miss';
}

/** A target with no figure, and why. */
export function unmeasuredTarget(target: string, unit: string, reason: string): TargetLine {
  return { target, value: null, limit: null, unit, status: 'not measured', note: reason };
}

/** True unless `x` is a NotMeasured. */
export function isMeasured<T extends object>(x: T | NotMeasured): x is T {
  return !('measured' in x) || x.measured !== false;
}

/** What a section gets from the run. */
export interface BenchContext {
  readonly plan: Plan;
  readonly quick: boolean;
  /** A progress line on stderr (stdout stays the report). */
  say(line: string): void;
  /** Why `what` cannot run on the real bed in this run (no root, --quick), or null when it can. */
  bedUnavailable(what: string): NotMeasured | null;
  /**
   * Bare wireguard-go interfaces shared by the sections that drive the real `wg`: `tb`
   * for throughput, `mb` for memory. Built on first use, torn down by main.ts at the end.
   */
  bareInterfaces(): Promise<BareInterfaces>;
}

/** One section of the report; see the module comment. */
export interface BenchSection<K extends SectionName> {
  readonly key: K;
  /** The table's heading line(s) for the section. */
  readonly heading: string;
  /** Measure; `earlier` holds the sections before this one that ran. */
  measure(ctx: BenchContext, earlier: Partial<Sections>): Promise<Sections[K]>;
  /** The section when it was not run (`--only` left it out). */
  skipped(reason: string): Sections[K];
  /** Table lines under the heading. */
  format(value: Sections[K]): string[];
  /** Target lines, in the order they are printed. */
  targets(value: Sections[K]): TargetLine[];
}

/** One line saying why something failed: a PqpskError's own message, else the error's first line. */
export function reasonOf(err: unknown): string {
  if (isPqpskError(err)) return err.message;
  return err instanceof Error ? `unexpected ${err.name}: ${err.message.split('\n')[0]}` : 'unexpected error';
}
