/**
 * The watcher's model-based test (see watch-model.ts for the world and the invariants),
 * with a fixed budget and seed; FUZZ_SEED replays another, `npm run fuzz` runs it longer.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { seedFromEnv } from '../fuzz/harness.js';
import { watchProperty } from './watch-model.js';

const seed = seedFromEnv(20_261_128);

test(`watcher model: 300 random sequences of up to 60 steps keep every invariant (seed ${seed})`, async () => {
  await fc.assert(watchProperty(60), { seed, numRuns: 300, includeErrorInReport: true });
});
