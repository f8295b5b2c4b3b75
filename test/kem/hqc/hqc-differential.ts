/**
 * The differential check of the two HQC-256 engines, seed by seed: each seed drives
 * keypair, encapsulation and decapsulation through HQC's KAT PRNG, and the digest covers
 * every byte they produce. The reference engine's digests for seeds 0…999 are kept in
 * test/vectors/hqc-256-differential.txt, so `npm test` can check all of them against the
 * project's engine in seconds (the reference costs ~70 ms a seed).
 *
 *   node dist/test/kem/hqc/hqc-differential.js write    regenerate the file with pqclean
 *   node dist/test/kem/hqc/hqc-differential.js verify   recompute every line with pqclean
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HqcEngine } from '../../../src/kem/registry.js';
import { instantiateHqcEngine } from '../../../src/kem/hqc/hqc-engine.js';
import { HqcShakePrng, SwitchableRandom } from '../kat-generators.js';

export const DIFFERENTIAL_SEEDS = 1000;

/** test/vectors/hqc-256-differential.txt, from dist/test/kem/hqc or test/kem/hqc. */
export const DIFFERENTIAL_VECTORS = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/test/') ? '../../../../test/vectors/hqc-256-differential.txt' : '../../vectors/hqc-256-differential.txt',
    import.meta.url,
  ),
);

/** Seed i's 48 bytes of PRNG entropy: i as 4 bytes little-endian, then 44 bytes 0x5a. */
export function differentialEntropy(i: number): Uint8Array {
  const entropy = new Uint8Array(48).fill(0x5a);
  new DataView(entropy.buffer).setUint32(0, i, true);
  return entropy;
}

/** One engine instance that runs seeds: SHA-256 of pk ‖ sk ‖ ct ‖ ss ‖ decapsulated ss. */
export function differentialRunner(engine: HqcEngine): (i: number) => string {
  const random = new SwitchableRandom();
  const hqc = instantiateHqcEngine({ engine, randomFill: random.fill });
  return (i) => {
    random.current = new HqcShakePrng(differentialEntropy(i));
    try {
      const { publicKey, secretKey } = hqc.keypair();
      const { ciphertext, sharedSecret } = hqc.encapsulate(publicKey);
      const decapsulated = hqc.decapsulate(ciphertext, secretKey);
      const hash = createHash('sha256');
      for (const part of [publicKey, secretKey, ciphertext, sharedSecret, decapsulated]) hash.update(part);
      return hash.digest('hex');
    } finally {
      random.current = undefined;
    }
  };
}

/** The stored reference digests, one per seed, in seed order. */
export function readDifferentialVectors(): string[] {
  const lines = readFileSync(DIFFERENTIAL_VECTORS, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return lines.map((line, i) => {
    const [seed, digest] = line.split(' ');
    if (Number(seed) !== i || digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
      throw new Error(`${DIFFERENTIAL_VECTORS}: line for seed ${i} is malformed`);
    }
    return digest;
  });
}

const HEADER = `# HQC-256 differential vectors: for seed i = 0…${DIFFERENTIAL_SEEDS - 1}, "i digest", where digest is
# SHA-256(pk ‖ sk ‖ ct ‖ ss ‖ decapsulated ss) from the pqclean package's WebAssembly build of
# PQClean's HQC-256, its randomness drawn from HQC's KAT PRNG (SHAKE-256(entropy ‖ 0x01)) with
# entropy = i as 4 bytes little-endian followed by 44 bytes 0x5a.
# Made by: node dist/test/kem/hqc/hqc-differential.js write (check: ... verify).
`;

function main(command: string | undefined): void {
  const reference = differentialRunner('pqclean');
  if (command === 'write') {
    const lines = Array.from({ length: DIFFERENTIAL_SEEDS }, (_, i) => `${i} ${reference(i)}`);
    writeFileSync(DIFFERENTIAL_VECTORS, `${HEADER}${lines.join('\n')}\n`);
    console.log(`wrote ${DIFFERENTIAL_SEEDS} digests to ${DIFFERENTIAL_VECTORS}`);
  } else if (command === 'verify') {
    const stored = readDifferentialVectors();
    const wrong = stored.filter((digest, i) => reference(i) !== digest).length;
    console.log(`${stored.length - wrong} passed, ${wrong} failed`);
    if (wrong !== 0) process.exitCode = 1;
  } else {
    console.error('usage: hqc-differential.js write|verify');
    process.exitCode = 2;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv[2]);
