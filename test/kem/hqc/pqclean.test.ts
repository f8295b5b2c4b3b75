import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { createMlKem1024 } from '../../../src/kem/ml-kem-1024.js';
import { createKem } from '../../../src/kem/registry.js';
import { createInThreadHqc256Kem } from '../../../src/kem/hqc/hqc-engine.js';
import {
  hqcBackendOf,
  PqcleanWasm,
  pqcleanModule,
  pqcleanSizes,
  pqcleanWasmPath,
  type PqcleanScheme,
} from '../../../src/kem/hqc/pqclean.js';
import { assertRejectsLabelled, marked } from '../helpers.js';
import {
  HQC_256_KAT_SHA256,
  HqcShakePrng,
  katDigest,
  NistCtrDrbg,
  SwitchableRandom,
  type KatGenerator,
} from '../kat-generators.js';
import { assertNoResidue } from './residue.js';

/** PQClean's published nistkat-sha256 values (SHA-256 of each scheme's KAT response file). */
const KAT_SHA256: Record<PqcleanScheme, string> = {
  'ml-kem-1024': 'f580d851e5fb27e6876e5e203fa18be4cdbfd49e05d48fec3d3992c8f43a13e6',
  'hqc-256': HQC_256_KAT_SHA256,
};
const KAT_GENERATOR: Record<PqcleanScheme, (entropy: Uint8Array) => KatGenerator> = {
  'ml-kem-1024': (e) => new NistCtrDrbg(e),
  'hqc-256': (e) => new HqcShakePrng(e),
};

function pqcleanKatDigest(wasm: PqcleanWasm, random: SwitchableRandom, scheme: PqcleanScheme): Promise<string> {
  return katDigest(random, KAT_GENERATOR[scheme], {
    keypair: () => wasm.keypair(scheme),
    encapsulate: (pk) => wasm.encapsulate(scheme, pk),
    decapsulate: (ct, sk) => wasm.decapsulate(scheme, ct, sk),
  });
}

test('the module is the package\'s, and our sizes equal the package\'s own table', () => {
  const where = pqcleanWasmPath();
  assert.equal(path.basename(where), 'pqclean.wasm');
  const packageWasm = path.join(path.dirname(createRequire(import.meta.url).resolve('pqclean/package.json')), 'wasm', 'gen');
  assert.ok(readFileSync(where).equals(readFileSync(path.join(packageWasm, 'pqclean.wasm'))), 'the copy in dist/vendor is the package\'s module');
  const table = JSON.parse(readFileSync(path.join(packageWasm, 'algorithms.json'), 'utf8')) as {
    kem: { properties: { name: string; publicKeySize: number; privateKeySize: number; keySize: number; encryptedKeySize: number } }[];
  };
  for (const scheme of ['hqc-256', 'ml-kem-1024'] as const) {
    const p = table.kem.find((k) => k.properties.name === scheme)!.properties;
    assert.deepEqual(
      { ...pqcleanSizes(scheme) },
      { publicKey: p.publicKeySize, secretKey: p.privateKeySize, ciphertext: p.encryptedKeySize, sharedSecret: p.keySize },
    );
  }
  assert.equal(pqcleanModule(), pqcleanModule(), 'compiled once');
});

for (const scheme of ['ml-kem-1024', 'hqc-256'] as const) {
  test(`pqclean-WASM ${scheme} reproduces PQClean nistkat-sha256 through the injected randomness`, async () => {
    const random = new SwitchableRandom();
    const wasm = PqcleanWasm.instantiate({ randomFill: random.fill });
    assert.equal(await pqcleanKatDigest(wasm, random, scheme), KAT_SHA256[scheme]);
  });
}

test('cross-implementation: noble ML-KEM-1024 and pqclean-WASM ML-KEM-1024 interoperate both ways', async () => {
  const noble = createMlKem1024();
  const wasm = PqcleanWasm.instantiate();
  const nobleKeys = await noble.keygen();
  const toNoble = wasm.encapsulate('ml-kem-1024', nobleKeys.publicKey);
  assert.deepEqual(await noble.decapsulate(toNoble.ciphertext, nobleKeys.secretKey), toNoble.sharedSecret);
  const wasmKeys = wasm.keypair('ml-kem-1024');
  const toWasm = await noble.encapsulate(wasmKeys.publicKey);
  assert.deepEqual(wasm.decapsulate('ml-kem-1024', toWasm.ciphertext, wasmKeys.secretKey), toWasm.sharedSecret);
  // Same seed, same keys: the two decode/encode identically.
  const seeded = (fill: number) => (out: Uint8Array) => out.fill(fill);
  const a = await createMlKem1024({ randomFill: seeded(3) }).keygen();
  const b = PqcleanWasm.instantiate({ randomFill: seeded(3) }).keypair('ml-kem-1024');
  assert.deepEqual(a, b);
});

test('HQC-256 tampered ciphertext → typed KEM_FAILURE, no secret returned, instance still usable', async () => {
  const wasm = PqcleanWasm.instantiate();
  const { publicKey, secretKey } = wasm.keypair('hqc-256');
  const { ciphertext, sharedSecret } = wasm.encapsulate('hqc-256', publicKey);
  for (const at of [0, 7000, ciphertext.length - 1]) {
    const tampered = ciphertext.slice();
    tampered[at]! ^= 0x01;
    await assertRejectsLabelled(() => wasm.decapsulate('hqc-256', tampered, secretKey), 'KEM_FAILURE', [
      'HQC-256 decapsulation',
    ], [secretKey, tampered, sharedSecret]);
  }
  assert.deepEqual(wasm.decapsulate('hqc-256', ciphertext, secretKey), sharedSecret);
});

test('pqclean-WASM ML-KEM-1024 tampered ciphertext → implicit rejection, no throw', () => {
  const wasm = PqcleanWasm.instantiate();
  const { publicKey, secretKey } = wasm.keypair('ml-kem-1024');
  const { ciphertext, sharedSecret } = wasm.encapsulate('ml-kem-1024', publicKey);
  const tampered = ciphertext.slice();
  tampered[100]! ^= 0x80;
  const rejected = wasm.decapsulate('ml-kem-1024', tampered, secretKey);
  assert.equal(rejected.length, 32);
  assert.notDeepEqual(rejected, sharedSecret);
});

test('wrong lengths are refused by name before entering WebAssembly', async () => {
  const wasm = PqcleanWasm.instantiate();
  const cases: [string, () => unknown, string, Uint8Array][] = [];
  for (const [scheme, label] of [['hqc-256', 'HQC-256'], ['ml-kem-1024', 'ML-KEM-1024']] as const) {
    const sizes = pqcleanSizes(scheme);
    const shortPk = marked(sizes.publicKey - 1);
    const longCt = marked(sizes.ciphertext + 1);
    const shortSk = marked(sizes.secretKey - 1);
    cases.push(
      [scheme, () => wasm.encapsulate(scheme, shortPk), `${label} public key: expected ${sizes.publicKey} bytes, got ${sizes.publicKey - 1}`, shortPk],
      [scheme, () => wasm.decapsulate(scheme, longCt, new Uint8Array(sizes.secretKey)), `${label} ciphertext: expected ${sizes.ciphertext} bytes, got ${sizes.ciphertext + 1}`, longCt],
      [scheme, () => wasm.decapsulate(scheme, new Uint8Array(sizes.ciphertext), shortSk), `${label} secret key: expected ${sizes.secretKey} bytes, got ${sizes.secretKey - 1}`, shortSk],
    );
  }
  for (const [, run, message, bytes] of cases) {
    await assertRejectsLabelled(run, 'INVALID_INPUT', [message], [bytes]);
  }
});

test('no secret, random draw or input survives in linear memory after any operation', () => {
  for (const scheme of ['hqc-256', 'ml-kem-1024'] as const) {
    assertNoResidue(scheme, (randomFill) => {
      const wasm = PqcleanWasm.instantiate({ randomFill });
      return {
        keypair: () => wasm.keypair(scheme),
        encapsulate: (pk) => wasm.encapsulate(scheme, pk),
        decapsulate: (ct, sk) => wasm.decapsulate(scheme, ct, sk),
      };
    });
  }
});

test('a failing randomness source surfaces as INTERNAL and leaves the instance sound', async () => {
  let fail = true;
  const random = new SwitchableRandom();
  const wasm = PqcleanWasm.instantiate({
    randomFill: (out) => {
      if (fail) throw new Error('entropy source down');
      random.fill(out);
    },
  });
  for (let i = 0; i < 3; i++) {
    await assertRejectsLabelled(() => wasm.keypair('hqc-256'), 'INTERNAL', ['HQC-256 keygen']);
  }
  fail = false;
  assert.equal(await pqcleanKatDigest(wasm, random, 'hqc-256'), KAT_SHA256['hqc-256']);
});

test('in-thread HQC-256 Kem (the client\'s) and the registry with an injected backend', async () => {
  const kem = createInThreadHqc256Kem({ engine: 'pqclean' });
  const viaRegistry = createKem('HQC-256', { hqc256: hqcBackendOf(PqcleanWasm.instantiate()) });
  assert.equal(kem.name, 'HQC-256');
  const { publicKey, secretKey } = await kem.keygen();
  const { ciphertext, sharedSecret } = await viaRegistry.encapsulate(publicKey);
  assert.equal(sharedSecret.length, 64);
  assert.deepEqual(await kem.decapsulate(ciphertext, secretKey), sharedSecret);
  await assertRejectsLabelled(() => kem.encapsulate(new Uint8Array(12)), 'INVALID_INPUT', [
    'HQC-256 public key: expected 7245 bytes, got 12',
  ]);
  const tampered = ciphertext.slice();
  tampered[1]! ^= 4;
  await assertRejectsLabelled(() => kem.decapsulate(tampered, secretKey), 'KEM_FAILURE', ['HQC-256']);
});
