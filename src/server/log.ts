/**
 * The relay's structured log. The server only builds records; the CLI decides where they
 * go (one JSON object per line). Records carry key *tags* (a public key's first 8 base64
 * characters), algorithm names, results and timings — never a secret, never raw bytes.
 */
import { isPqpskError } from '../errors.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One log record: flat JSON-safe fields; `event` names what happened. */
export interface LogRecord {
  readonly event: string;
  readonly [field: string]: unknown;
}

/** Where the relay's records go. */
export interface Logger {
  log(level: LogLevel, record: LogRecord): void;
}

/** Drops records below `threshold` before they reach `sink`. */
export function levelFilter(threshold: LogLevel, sink: Logger): Logger {
  const max = LOG_LEVELS.indexOf(threshold);
  return { log: (level, record) => (LOG_LEVELS.indexOf(level) <= max ? sink.log(level, record) : undefined) };
}

/** A logger that keeps records in memory (tests, benchmarks). */
export class MemoryLogger implements Logger {
  readonly records: { level: LogLevel; record: LogRecord }[] = [];

  log(level: LogLevel, record: LogRecord): void {
    this.records.push({ level, record });
  }

  /** Records of one event kind. */
  of(event: string): LogRecord[] {
    return this.records.filter((r) => r.record.event === event).map((r) => r.record);
  }
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = Object.freeze({ log: () => undefined });

/**
 * What of an error may be logged: our own errors' messages are written to be safe
 * (labelled, no bytes, no child output); anything else is a bug whose message we do not
 * trust, so only its type is kept.
 */
export function describeError(err: unknown): { code: string; message: string } {
  if (isPqpskError(err)) return { code: err.code, message: err.message };
  const name = err instanceof Error ? err.name : typeof err;
  return { code: 'INTERNAL', message: `unexpected ${name}` };
}
