/**
 * Durations as an operator writes them on the command line (`90s`, `10m`, `24h`, `1h30m`),
 * for `--ephemeral-ttl` and `--verify-timeout`. A bare number is refused: "600" could mean seconds or
 * milliseconds, and a TTL off by 1000× fails silently.
 */
import { PqpskError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

/**
 * The longest duration accepted: a century. Anything longer means no expiry at all, and
 * past 2^53 ms the sum is no longer a whole number of milliseconds that formatDuration
 * can print back in a form this parser reads.
 */
export const MAX_DURATION_MS = 100 * 365 * UNIT_MS['d']!;

/** Parse `text` into milliseconds, at least `minMs`; `label` names the option in errors. */
export function parseDuration(label: string, text: string, minMs = 1000): number {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (trimmed === '' || parts.length === 0 || consumed !== trimmed) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected a duration such as 90s, 10m or 24h, got ${describe(text)}`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (!Number.isFinite(ms) || ms < minMs) {
    throw new PqpskError('INVALID_INPUT', `${label}: must be at least ${formatDuration(minMs)}`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new PqpskError('INVALID_INPUT', `${label}: must be at most ${formatDuration(MAX_DURATION_MS)}`);
  }
  return Math.round(ms);
}

/** The inverse for help texts and logs: the largest whole unit (`86400000` → `24h`; hours are kept as hours). */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function describe(text: unknown): string {
  if (typeof text !== 'string') return typeof text;
  const shown = text.length > 32 ? `${text.slice(0, 32)}…` : text;
  return `"${shown.replace(/[^\x20-\x7e…]/g, '?')}"`;
}
