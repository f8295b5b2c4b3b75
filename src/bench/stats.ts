/**
 * Summaries shared by the benchmark's parts: nearest-rank percentiles over raw samples,
 * so every figure in the table is computed the same way.
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

/** Megabytes (2^20 bytes), for RSS lines. */
export function mib(bytes: number): number {
  return bytes / 1048576;
}
