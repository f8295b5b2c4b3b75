/**
 * Times as the command line shows them. Measured times carry microseconds and float
 * noise (`63.70014600000002`) that no reader can use: people get whole milliseconds, or
 * one decimal below 10 ms where the difference still means something; `--json` gets a
 * fixed precision of 0.1 ms, the same for every time field, so a script may rely on it.
 */
import type { HopTimings } from '../client/types.js';

/** Decimal places of every millisecond figure in `--json` output (0.1 ms). */
export const JSON_MS_DECIMALS = 1;

/** `1008.045377` → `1008 ms`, `63.7` → `64 ms`, `2.84` → `2.8 ms`, `0.04` → `0.0 ms`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '? ms';
  const tenths = Math.round(ms * 10) / 10;
  return tenths < 10 ? `${tenths.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** A millisecond figure for `--json`: rounded to JSON_MS_DECIMALS places (`63.70014600000002` → `63.7`). */
export function jsonMs(ms: number): number {
  const scale = 10 ** JSON_MS_DECIMALS;
  return Math.round(ms * scale) / scale;
}

/** A hop's step times for people, as `negotiate` and `demo` print them. */
export function timingsLine(t: HopTimings): string {
  return `keygen ${formatMs(t.keygenMs)}, rpc ${formatMs(t.rpcMs)}, decaps ${formatMs(t.decapsMs)}, switch ${formatMs(t.switchMs)}, verify ${formatMs(t.verifyMs)}, total ${formatMs(t.totalMs)}`;
}
