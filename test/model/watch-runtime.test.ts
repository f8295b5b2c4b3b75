/**
 * The watcher runtime's model-based test (see watch-runtime-model.ts for the world and the
 * checks), with a fixed budget and seed; FUZZ_SEED replays another, `npm run fuzz` runs it
 * longer. On failure fast-check prints the seed and the shrunk list of events.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { seedFromEnv } from '../fuzz/harness.js';
import { watchRuntimeProperty } from './watch-runtime-model.js';

const seed = seedFromEnv(20_261_128);

test(`watcher runtime model: 200 random sequences of up to 120 world events keep R1–R3 (seed ${seed})`, async () => {
  await fc.assert(watchRuntimeProperty(120), { seed, numRuns: 200, includeErrorInReport: true });
});
