/**
 * The benchmark's one set of summaries, so every figure in the table is computed the same
 * way: nearest-rank percentiles over raw samples, medians, megabytes, and the number
 * formats of the table.
 */

/** Nearest-rank percentile `p` (0..1) of `values`; NaN for no samples. */
export function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The median (mean of the two middle values for an even count); NaN for no samples. */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank summary of a sample set. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Count, nearest-rank p50 and p99, and maximum of `samples` (NaN where there are none). */
export function percentilesOf(samples: readonly number[]): Percentiles {
  return {
    count: samples.length,
    p50: percentileOf(samples, 0.5),
    p99: percentileOf(samples, 0.99),
    max: samples.length === 0 ? Number.NaN : samples.reduce((a, b) => Math.max(a, b)),
  };
}

/** Megabytes (2^20 bytes), for RSS lines. */
export function mib(bytes: number): number {
  return bytes / 1048576;
}

/** One decimal, or a dash for a missing figure. */
export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
/** No decimals, or a dash for a missing figure. */
export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—');
/** Bytes as megabytes with one decimal. */
export const mb = (bytes: number): string => `${mib(bytes).toFixed(1)} MB`;
