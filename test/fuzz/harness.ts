/**
 * The fuzz harness: runs one target's check on generated inputs (fast-check, seeded, so a
 * run is reproducible from its seed) for a number of inputs or a time budget, and reports
 * what it tried and what it found. A check that throws is a crash; one that takes longer
 * than the hang limit is a hang. fast-check shrinks either to a minimal input.
 *
 * Why not coverage-guided: Jazzer.js 4.0.0 installs from the registry but its shipped
 * libFuzzer addon needs glibc 2.38 (these machines have 2.36), and older releases
 * download their addon at install time, which nothing here may do. So inputs are
 * generated at volume from structure-aware arbitraries (valid encodings, mutated, and
 * random), and branch coverage of the targets' sources is measured separately (c8).
 */
import fc from 'fast-check';
import { inspect } from 'node:util';

/** One thing to fuzz: an input generator and a check that throws on anything unexpected. */
export interface FuzzTarget<T> {
  readonly name: string;
  /** One line: what goes in and what must come out. */
  readonly what: string;
  /** The source files the target exercises, for the coverage report. */
  readonly sources: readonly string[];
  readonly input: fc.Arbitrary<T>;
  /** Throws when the outcome breaks the target's expectations. */
  check(input: T): void | Promise<void>;
  /** Inputs per run in `npm test` (a smoke, seconds at most). */
  readonly smokeRuns: number;
  /** Start what the check needs (a server); the returned function stops it. */
  setup?(): Promise<() => Promise<void>>;
}

/** A target with its input type hidden, so targets of different types can share a list. */
export interface AnyTarget {
  readonly name: string;
  readonly what: string;
  readonly sources: readonly string[];
  readonly smokeRuns: number;
  run(options: RunOptions): Promise<FuzzOutcome>;
}

export interface RunOptions {
  readonly seed: number;
  /** Stop after this many inputs… */
  readonly numRuns?: number;
  /** …or after this long, whichever comes first. */
  readonly timeMs?: number;
  /** A single input slower than this is a hang (default 2 s). */
  readonly hangMs?: number;
}

export interface FuzzFinding {
  readonly kind: 'crash' | 'hang';
  /** The shrunk input, printed. */
  readonly input: string;
  readonly error: string;
  /** fast-check's replay path: `{ seed, path }` reproduces the shrunk input directly. */
  readonly path: string;
}

export interface FuzzOutcome {
  readonly target: string;
  readonly seed: number;
  /** Inputs tried (not counting shrinking). */
  readonly inputs: number;
  readonly ms: number;
  readonly finding: FuzzFinding | null;
}

class Hang extends Error {}

/** Wrap a typed target for a list of targets. */
export function defineTarget<T>(target: FuzzTarget<T>): AnyTarget {
  return {
    name: target.name,
    what: target.what,
    sources: target.sources,
    smokeRuns: target.smokeRuns,
    async run(options: RunOptions): Promise<FuzzOutcome> {
      const hangMs = options.hangMs ?? 2000;
      const stop = target.setup === undefined ? null : await target.setup();
      const started = performance.now();
      try {
        const property = fc.asyncProperty(target.input, async (input) => {
          const began = performance.now();
          let timer: NodeJS.Timeout | undefined;
          const limit = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Hang(`no outcome within ${hangMs} ms`)), hangMs);
          });
          try {
            await Promise.race([Promise.resolve().then(() => target.check(input)), limit]);
          } finally {
            clearTimeout(timer);
          }
          // A synchronous check cannot be interrupted; a slow one still counts as a hang.
          const took = performance.now() - began;
          if (took > hangMs) throw new Hang(`one input took ${Math.round(took)} ms`);
        });
        const details = await fc.check(property, {
          seed: options.seed,
          numRuns: options.numRuns ?? Number.MAX_SAFE_INTEGER,
          ...(options.timeMs === undefined ? {} : { interruptAfterTimeLimit: options.timeMs }),
          markInterruptAsFailure: false,
        });
        const ms = performance.now() - started;
        if (!details.failed) return { target: target.name, seed: options.seed, inputs: details.numRuns, ms, finding: null };
        const error = details.errorInstance;
        return {
          target: target.name,
          seed: options.seed,
          inputs: details.numRuns,
          ms,
          finding: {
            kind: error instanceof Hang ? 'hang' : 'crash',
            input: show(details.counterexample?.[0]),
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            path: details.counterexamplePath ?? '',
          },
        };
      } finally {
        await stop?.();
      }
    },
  };
}

/** A counterexample, printed so it can be pasted into a test: bytes as an escaped latin1 string. */
function show(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes ${JSON.stringify(Buffer.from(value).toString('latin1'))} (${value.length})`;
  return inspect(value, { depth: 4, maxArrayLength: 64, maxStringLength: 400, breakLength: 120 });
}

/** The lines to print for a finding: enough to reproduce and to write a regression test. */
export function describeFinding(outcome: FuzzOutcome): string {
  const f = outcome.finding;
  if (f === null) return `${outcome.target}: nothing found`;
  return [
    `${outcome.target}: ${f.kind} after ${outcome.inputs} inputs (seed ${outcome.seed}, path "${f.path}")`,
    `  shrunk input: ${f.input}`,
    `  error: ${f.error.split('\n').slice(0, 6).join('\n         ')}`,
    `  replay: FUZZ_SEED=${outcome.seed} npm run fuzz -- --only ${outcome.target}`,
  ].join('\n');
}

/** The seed for this run: FUZZ_SEED when set (to replay), otherwise `fallback`. */
export function seedFromEnv(fallback: number): number {
  const text = process.env['FUZZ_SEED'];
  if (text === undefined || text === '') return fallback;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(text)}`);
  return seed;
}
