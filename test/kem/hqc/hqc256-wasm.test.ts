import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_HQC_ENGINE } from '../../../src/kem/registry.js';
import { Hqc256Wasm, hqc256Module, hqc256WasmPath } from '../../../src/kem/hqc/hqc256-wasm.js';
import { instantiateHqcEngine } from '../../../src/kem/hqc/hqc-engine.js';
import { PqcleanWasm } from '../../../src/kem/hqc/pqclean.js';
import { wasmApi } from '../../../src/kem/hqc/webassembly.js';
import { assertRejectsLabelled, marked } from '../helpers.js';
import { HQC_256_KAT_SHA256, HqcShakePrng, katDigest, SwitchableRandom } from '../kat-generators.js';
import { DIFFERENTIAL_SEEDS, differentialRunner, readDifferentialVectors } from './hqc-differential.js';
import { assertNoResidue } from './residue.js';

test('the project\'s engine is the default; its module imports nothing but randomness', () => {
  assert.equal(DEFAULT_HQC_ENGINE, 'pqpsk');
  assert.ok(instantiateHqcEngine() instanceof Hqc256Wasm);
  assert.equal(hqc256Module(), hqc256Module(), 'compiled once');
  // Instantiating with nothing but env.PQCLEAN_randombytes fails if it needed anything else.
  const bare = new wasmApi.Instance(new wasmApi.Module(readFileSync(hqc256WasmPath())), {
    env: { PQCLEAN_randombytes: () => 0 },
  });
  assert.equal(typeof bare.exports.PQCLEAN_HQC256_CLEAN_crypto_kem_dec, 'function');
});

test('the project\'s HQC-256 reproduces PQClean nistkat-sha256 through the injected randomness', async () => {
  const random = new SwitchableRandom();
  const hqc = Hqc256Wasm.instantiate({ randomFill: random.fill });
  assert.equal(await katDigest(random, (e) => new HqcShakePrng(e), hqc), HQC_256_KAT_SHA256);
});

test(`differential: ${DIFFERENTIAL_SEEDS} seeds give pqclean's keys, ciphertexts and secrets byte for byte`, () => {
  const stored = readDifferentialVectors();
  assert.equal(stored.length, DIFFERENTIAL_SEEDS);
  const ours = differentialRunner('pqpsk');
  const differing = stored.flatMap((digest, i) => (ours(i) === digest ? [] : [i]));
  assert.deepEqual(differing, [], 'seeds where the engines differ');
});

test('differential: the stored digests are pqclean\'s (a few seeds recomputed live, both engines)', () => {
  const stored = readDifferentialVectors();
  const reference = differentialRunner('pqclean');
  const ours = differentialRunner('pqpsk');
  const seeds = [0, DIFFERENTIAL_SEEDS - 1, randomInt(DIFFERENTIAL_SEEDS), randomInt(DIFFERENTIAL_SEEDS)];
  for (const i of seeds) {
    assert.equal(reference(i), stored[i], `seed ${i}: pqclean`);
  }
  // Past the stored range: live comparison only.
  for (let i = DIFFERENTIAL_SEEDS; i < DIFFERENTIAL_SEEDS + 4; i++) {
    assert.equal(ours(i), reference(i), `seed ${i}`);
  }
});

test('tampered ciphertexts: both engines reject them as KEM_FAILURE, and the instance stays usable', async () => {
  const ours = Hqc256Wasm.instantiate();
  const reference = PqcleanWasm.instantiate();
  const { publicKey, secretKey } = ours.keypair();
  const { ciphertext, sharedSecret } = ours.encapsulate(publicKey);
  // Byte 0 and 7000 lie in u, 7300 and 14000 in v, the last in the salt; one flipped bit in
  // v is corrected by the code but still fails the re-encryption check.
  for (const [at, bit] of [[0, 0x01], [7000, 0x80], [7300, 0x04], [14000, 0x10], [ciphertext.length - 1, 0x01]] as const) {
    const tampered = ciphertext.slice();
    tampered[at]! ^= bit;
    await assertRejectsLabelled(() => ours.decapsulate(tampered, secretKey), 'KEM_FAILURE', ['HQC-256 decapsulation'], [
      secretKey,
      tampered,
      sharedSecret,
    ]);
    await assertRejectsLabelled(() => reference.decapsulate('hqc-256', tampered, secretKey), 'KEM_FAILURE', [
      'HQC-256 decapsulation',
    ]);
  }
  assert.deepEqual(ours.decapsulate(ciphertext, secretKey), sharedSecret);
  assert.deepEqual(reference.decapsulate('hqc-256', ciphertext, secretKey), sharedSecret);
});

test('wrong lengths are refused by name before entering WebAssembly', async () => {
  const hqc = Hqc256Wasm.instantiate();
  const shortPk = marked(7244);
  const longCt = marked(14422);
  const shortSk = marked(7316);
  await assertRejectsLabelled(() => hqc.encapsulate(shortPk), 'INVALID_INPUT', ['HQC-256 public key: expected 7245 bytes, got 7244'], [shortPk]);
  await assertRejectsLabelled(() => hqc.decapsulate(longCt, new Uint8Array(7317)), 'INVALID_INPUT', [
    'HQC-256 ciphertext: expected 14421 bytes, got 14422',
  ], [longCt]);
  await assertRejectsLabelled(() => hqc.decapsulate(new Uint8Array(14421), shortSk), 'INVALID_INPUT', [
    'HQC-256 secret key: expected 7317 bytes, got 7316',
  ], [shortSk]);
});

test('no secret, random draw or input survives in linear memory; not one byte changes', () => {
  assertNoResidue('own HQC-256', (randomFill) => Hqc256Wasm.instantiate({ randomFill }), 0);
});

test('a failing randomness source surfaces as INTERNAL and leaves the instance sound', async () => {
  let fail = true;
  const random = new SwitchableRandom();
  const hqc = Hqc256Wasm.instantiate({
    randomFill: (out) => {
      if (fail) throw new Error('entropy source down');
      random.fill(out);
    },
  });
  const keys = Hqc256Wasm.instantiate().keypair();
  // Enough failures mid-call that a stack pointer or SHAKE arena left behind would show.
  for (let i = 0; i < 12; i++) {
    await assertRejectsLabelled(() => hqc.keypair(), 'INTERNAL', ['HQC-256 keygen']);
    await assertRejectsLabelled(() => hqc.encapsulate(keys.publicKey), 'INTERNAL', ['HQC-256 encapsulation']);
  }
  fail = false;
  assert.equal(await katDigest(random, (e) => new HqcShakePrng(e), hqc), HQC_256_KAT_SHA256);
});
