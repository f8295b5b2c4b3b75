/**
 * `npm run fuzz`: every fuzz target for a set time each, then a table of inputs tried,
 * inputs per minute and findings. Options: `--seconds N` per target (default 60),
 * `--only NAME` (repeatable), `--strict` (the model suites tolerate none of their open
 * findings; by default they tolerate exactly those, as in `npm test`, to explore the rest). The seed is FUZZ_SEED or a fresh one, printed first so
 * any finding can be replayed. Exits 1 when anything was found.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { OPEN_FINDINGS, STRICT, emptyStats, relayProperty, type ModelStats } from '../model/relay-model.js';
import { watchProperty } from '../model/watch-model.js';
import { watchRuntimeProperty } from '../model/watch-runtime-model.js';
import { describeFinding, seedFromEnv, type AnyTarget, type FuzzOutcome } from './harness.js';
import { fuzzTargets } from './targets.js';

/** Extra long-running entries (the model-based suites) register here. */
export interface LongRun {
  readonly name: string;
  readonly what: string;
  run(seed: number, timeMs: number, strict: boolean): Promise<FuzzOutcome & { readonly extra?: string }>;
}

export async function fuzzMain(longRuns: readonly LongRun[] = []): Promise<number> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, only: { type: 'string', multiple: true }, strict: { type: 'boolean', default: false } },
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
  const only = values.only ?? [];
  const seed = seedFromEnv(Math.floor(Math.random() * 2 ** 31));
  const pick = <T extends { name: string }>(list: readonly T[]): T[] => list.filter((t) => only.length === 0 || only.includes(t.name));
  const targets: AnyTarget[] = pick(fuzzTargets());
  const longs = pick(longRuns);
  console.log(`fuzz: seed ${seed}, ${seconds} s per target, ${targets.length + longs.length} targets`);
  const rows: (FuzzOutcome & { extra?: string })[] = [];
  for (const target of targets) {
    console.log(`- ${target.name}: ${target.what}`);
    rows.push(await target.run({ seed, timeMs: seconds * 1000 }));
  }
  for (const long of longs) {
    console.log(`- ${long.name}: ${long.what}`);
    rows.push(await long.run(seed, seconds * 1000, values.strict));
  }
  console.log('');
  console.log(`${'target'.padEnd(16)}${'inputs'.padStart(10)}${'per min'.padStart(12)}${'crashes'.padStart(9)}${'hangs'.padStart(7)}${'seconds'.padStart(9)}`);
  for (const r of rows) {
    const perMinute = Math.round((r.inputs / r.ms) * 60_000);
    const crash = r.finding?.kind === 'crash' ? 1 : 0;
    const hang = r.finding?.kind === 'hang' ? 1 : 0;
    console.log(
      `${r.target.padEnd(16)}${String(r.inputs).padStart(10)}${String(perMinute).padStart(12)}${String(crash).padStart(9)}${String(hang).padStart(7)}${(r.ms / 1000).toFixed(1).padStart(9)}${r.extra === undefined ? '' : `  ${r.extra}`}`,
    );
  }
  const found = rows.filter((r) => r.finding !== null);
  for (const r of found) console.log(`\n${describeFinding(r)}`);
  console.log(`\n${rows.length - found.length} passed, ${found.length} failed`);
  return found.length === 0 ? 0 : 1;
}

/** A model-based suite run for the time budget: sequences and steps instead of inputs. */
export function modelRun<Ts extends [unknown, ...unknown[]]>(name: string, what: string, property: (stats: ModelStats, strict: boolean) => fc.IAsyncPropertyWithHooks<Ts>): LongRun {
  return {
    name,
    what,
    async run(seed, timeMs, strict) {
      const stats = emptyStats();
      const started = performance.now();
      const details = await fc.check(property(stats, strict), { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: timeMs, markInterruptAsFailure: false });
      const error = details.errorInstance;
      return {
        target: name,
        seed,
        inputs: details.numRuns,
        ms: performance.now() - started,
        finding: details.failed
          ? {
              kind: 'crash',
              input: String(details.counterexample?.[0] ?? ''),
              error: error instanceof Error ? error.message : String(error),
              path: details.counterexamplePath ?? '',
            }
          : null,
        extra: `sequences; ${stats.steps} steps, longest ${stats.longest}`,
      };
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await fuzzMain([
    modelRun('relay-model', 'random command sequences against the real relay, invariants after every step', (stats, strict) => relayProperty(60, stats, strict ? STRICT : OPEN_FINDINGS)),
    modelRun('watch-model', 'random world events against the watcher policy, invariants after every step', (stats) => watchProperty(100, stats)),
    modelRun('watch-runtime', 'random world events against the real watcher loop: no overlapping switches, a truthful status', (stats) => watchRuntimeProperty(150, stats)),
  ]);
}
