/**
 * Measures build + teardown of each topology (not a test: figures, not assertions).
 *   node dist/test/e2e/measure-bed.js [rounds=5]
 * Needs root and the bed tools; sends no traffic.
 */
import { bedPrerequisites, buildMultihop, buildSingleHop } from '../../src/testbed/index.js';

const rounds = Number(process.argv[2] ?? '5');
const p = bedPrerequisites();
if (!p.ok) {
  process.stderr.write(`measure-bed: ${p.reason}\n`);
  process.exit(2);
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  return `min ${s[0]} / median ${median} / max ${s[s.length - 1]} ms`;
}

for (const [name, build] of [['single hop', buildSingleHop], ['multihop', buildMultihop]] as const) {
  const builds: number[] = [];
  const teardowns: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const { bed, buildMs } = await build();
    const report = await bed.teardown();
    totals.push(Math.round(performance.now() - t0));
    if (report.leftovers.length > 0) throw new Error(`leftovers: ${report.leftovers.join(', ')}`);
    builds.push(buildMs);
    teardowns.push(report.durationMs);
  }
  process.stdout.write(`${name} (${rounds} rounds): build ${stats(builds)}; teardown ${stats(teardowns)}; total ${stats(totals)}\n`);
}
