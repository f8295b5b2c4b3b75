/**
 * The relay's model-based test (see relay-model.ts for the commands and invariants), with
 * a fixed budget and a fixed seed so `npm test` is reproducible; FUZZ_SEED replays another
 * seed and `npm run fuzz` runs it longer. On failure fast-check prints the seed, the
 * replay path and the shrunk command sequence.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { seedFromEnv } from '../fuzz/harness.js';
import { OPEN_FINDINGS, relayProperty } from './relay-model.js';

const seed = seedFromEnv(20_261_128);

test(`relay model: 80 random sequences of up to 40 steps keep every invariant (seed ${seed})`, async () => {
  await fc.assert(relayProperty(40, undefined, OPEN_FINDINGS), { seed, numRuns: 80, includeErrorInReport: true });
});
