import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMlKem1024, ML_KEM_1024_SIZES } from '../../src/kem/ml-kem-1024.js';
import type { RandomFill } from '../../src/kem/types.js';
import { katRecordText, NistCtrDrbg, runKat, sha256Hex, SwitchableRandom } from './kat-generators.js';
import { assertRejectsLabelled, marked } from './helpers.js';

/** PQClean's test/duplicate_consistency nistkat-sha256 for ml-kem-1024: SHA-256 of the KAT file for count = 0. */
const ML_KEM_1024_KAT_SHA256 = 'f580d851e5fb27e6876e5e203fa18be4cdbfd49e05d48fec3d3992c8f43a13e6';

test('noble ML-KEM-1024 reproduces PQClean nistkat-sha256', async () => {
  const random = new SwitchableRandom();
  const kem = createMlKem1024({ randomFill: random.fill });
  const { record, decapsulated } = await runKat(random, (e) => new NistCtrDrbg(e), {
    keypair: () => kem.keygen(),
    encapsulate: (pk) => kem.encapsulate(pk),
    decapsulate: (ct, sk) => kem.decapsulate(ct, sk),
  });
  assert.equal(sha256Hex(katRecordText(record)), ML_KEM_1024_KAT_SHA256);
  assert.deepEqual(decapsulated, record.ss);
});

test('randomness is drawn as the reference draws it: 64 bytes at keygen, 32 at encapsulation', async () => {
  const calls: number[] = [];
  const fill: RandomFill = (out) => {
    calls.push(out.length);
    out.fill(calls.length);
  };
  const kem = createMlKem1024({ randomFill: fill });
  const { publicKey } = await kem.keygen();
  await kem.encapsulate(publicKey);
  assert.deepEqual(calls, [64, 32]);
});

test('round trip with default randomness, sizes as declared', async () => {
  const kem = createMlKem1024();
  assert.equal(kem.name, 'ML-KEM-1024');
  const { publicKey, secretKey } = await kem.keygen();
  assert.equal(publicKey.length, ML_KEM_1024_SIZES.publicKey);
  assert.equal(secretKey.length, ML_KEM_1024_SIZES.secretKey);
  const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
  assert.equal(ciphertext.length, ML_KEM_1024_SIZES.ciphertext);
  assert.equal(sharedSecret.length, 32);
  // Our own buffer, not a view into a larger one.
  assert.equal(sharedSecret.buffer.byteLength, 32);
  assert.deepEqual(await kem.decapsulate(ciphertext, secretKey), sharedSecret);
});

test('tampered ciphertext: implicit rejection (a different, deterministic secret, no throw)', async () => {
  const kem = createMlKem1024();
  const { publicKey, secretKey } = await kem.keygen();
  const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
  for (const at of [0, 800, ciphertext.length - 1]) {
    const tampered = ciphertext.slice();
    tampered[at]! ^= 0x01;
    const rejected = await kem.decapsulate(tampered, secretKey);
    assert.equal(rejected.length, 32);
    assert.notDeepEqual(rejected, sharedSecret);
    assert.deepEqual(await kem.decapsulate(tampered, secretKey), rejected);
  }
});

test('every wrong length is a labelled INVALID_INPUT that shows no key bytes', async () => {
  const kem = createMlKem1024();
  const { publicKey, secretKey } = await kem.keygen();
  const { ciphertext } = await kem.encapsulate(publicKey);
  for (const n of [0, 12, 1567, 1569, 3168]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.encapsulate(bad), 'INVALID_INPUT', [
      'ML-KEM-1024 public key: expected 1568 bytes',
      `got ${n}`,
    ], [bad]);
    await assertRejectsLabelled(() => kem.decapsulate(bad, secretKey), 'INVALID_INPUT', [
      'ML-KEM-1024 ciphertext: expected 1568 bytes',
      `got ${n}`,
    ], [bad, secretKey]);
  }
  for (const n of [0, 1568, 3167, 3169]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.decapsulate(ciphertext, bad), 'INVALID_INPUT', [
      'ML-KEM-1024 secret key: expected 3168 bytes',
      `got ${n}`,
    ], [bad]);
  }
  await assertRejectsLabelled(() => kem.encapsulate(null as unknown as Uint8Array), 'INVALID_INPUT', [
    'ML-KEM-1024 public key',
    'got null',
  ]);
  await assertRejectsLabelled(() => kem.decapsulate('ct' as unknown as Uint8Array, secretKey), 'INVALID_INPUT', [
    'ML-KEM-1024 ciphertext',
    'got string',
  ]);
});

test('a public key failing the FIPS 203 modulus check is refused by name, bytes unshown', async () => {
  const kem = createMlKem1024();
  const bad = new Uint8Array(1568).fill(0xff); // every 12-bit coefficient 4095 ≥ q
  await assertRejectsLabelled(() => kem.encapsulate(bad), 'INVALID_INPUT', ['ML-KEM-1024 public key', 'modulus'], [bad]);
});

test('a secret key whose embedded H(ek) does not match is refused by name', async () => {
  const kem = createMlKem1024();
  const { publicKey, secretKey } = await kem.keygen();
  const { ciphertext } = await kem.encapsulate(publicKey);
  const broken = secretKey.slice();
  broken[3168 - 40]! ^= 1; // inside H(ek)
  await assertRejectsLabelled(() => kem.decapsulate(ciphertext, broken), 'INVALID_INPUT', [
    'ML-KEM-1024 secret key',
    'integrity',
  ], [broken]);
});
