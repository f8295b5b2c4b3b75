/**
 * `npm run fuzz`: every fuzz target for a set time each, then a table of inputs tried,
 * inputs per minute and findings. Options: `--seconds N` per target (default 60),
 * `--only NAME` (repeatable). The seed is FUZZ_SEED or a fresh one, printed first so
 * any finding can be replayed. Exits 1 when anything was found.
 */
import { parseArgs } from 'node:util';
import { describeFinding, seedFromEnv, type AnyTarget, type FuzzOutcome } from './harness.js';
import { fuzzTargets } from './targets.js';

/** Extra long-running entries (the model-based suites) register here. */
export interface LongRun {
  readonly name: string;
  readonly what: string;
  run(seed: number, timeMs: number): Promise<FuzzOutcome & { readonly extra?: string }>;
}

export async function fuzzMain(longRuns: readonly LongRun[] = []): Promise<number> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, only: { type: 'string', multiple: true } },
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
    rows.push(await long.run(seed, seconds * 1000));
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

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await fuzzMain();
}
