/**
 * A short run of every fuzz target (`npm run fuzz` runs them for minutes). The seed is
 * fixed so the suite is reproducible; FUZZ_SEED replays another one. A finding fails the
 * test with its shrunk input, its seed and the command that replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFinding, seedFromEnv } from './harness.js';
import { fuzzTargets } from './targets.js';

const seed = seedFromEnv(20_261_128);

for (const target of fuzzTargets()) {
  test(`fuzz smoke: ${target.name} (${target.smokeRuns} inputs, seed ${seed})`, async () => {
    const outcome = await target.run({ seed, numRuns: target.smokeRuns, hangMs: 5000 });
    assert.equal(outcome.finding, null, describeFinding(outcome));
    assert.equal(outcome.inputs, target.smokeRuns);
  });
}
