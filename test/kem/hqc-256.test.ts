import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PqpskError } from '../../src/errors.js';
import { createHqc256Kem, HQC_256_SIZES, type HqcBackend } from '../../src/kem/hqc-256.js';
import { assertRejectsLabelled, marked } from './helpers.js';

/** A backend with the right shapes and no cryptography, recording what reached it. */
function fakeBackend(overrides: Partial<HqcBackend> = {}): HqcBackend & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    keypair: () => {
      calls.push('keypair');
      return { publicKey: new Uint8Array(7245), secretKey: new Uint8Array(7317).fill(9) };
    },
    encapsulate: () => {
      calls.push('encapsulate');
      return { ciphertext: new Uint8Array(14421), sharedSecret: new Uint8Array(64).fill(7) };
    },
    decapsulate: () => {
      calls.push('decapsulate');
      return new Uint8Array(64).fill(7);
    },
    ...overrides,
  };
}

test('sizes and name as the wire expects', () => {
  const kem = createHqc256Kem(fakeBackend());
  assert.equal(kem.name, 'HQC-256');
  assert.deepEqual({ ...kem.sizes }, { publicKey: 7245, secretKey: 7317, ciphertext: 14421, sharedSecret: 64 });
  assert.equal(kem.sizes, HQC_256_SIZES);
});

test('every wrong input length is refused by name before the backend runs', async () => {
  const backend = fakeBackend();
  const kem = createHqc256Kem(backend);
  for (const n of [0, 7244, 7246, 14421]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.encapsulate(bad), 'INVALID_INPUT', [
      'HQC-256 public key: expected 7245 bytes',
      `got ${n}`,
    ], [bad]);
  }
  for (const n of [0, 14420, 14422, 7245]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.decapsulate(bad, new Uint8Array(7317)), 'INVALID_INPUT', [
      'HQC-256 ciphertext: expected 14421 bytes',
      `got ${n}`,
    ], [bad]);
  }
  for (const n of [0, 7245, 7316, 7318]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.decapsulate(new Uint8Array(14421), bad), 'INVALID_INPUT', [
      'HQC-256 secret key: expected 7317 bytes',
      `got ${n}`,
    ], [bad]);
  }
  assert.deepEqual(backend.calls, []);
});

test('a wrong-sized backend result is INTERNAL and the secret it carried is wiped', async () => {
  const leaked = new Uint8Array(63).fill(0x42);
  const kem = createHqc256Kem(
    fakeBackend({ encapsulate: () => ({ ciphertext: new Uint8Array(14421), sharedSecret: leaked }) }),
  );
  await assertRejectsLabelled(() => kem.encapsulate(new Uint8Array(7245)), 'INTERNAL', [
    'HQC-256 shared secret (generated)',
    'wrong size',
  ]);
  assert.deepEqual(leaked, new Uint8Array(63));
});

test('backend errors: ours pass through, foreign ones become INTERNAL without their message', async () => {
  const rejecting = createHqc256Kem(
    fakeBackend({
      decapsulate: () => {
        throw new PqpskError('KEM_FAILURE', 'HQC-256 decapsulation failed (PQClean returned -1)');
      },
    }),
  );
  await assertRejectsLabelled(() => rejecting.decapsulate(new Uint8Array(14421), new Uint8Array(7317)), 'KEM_FAILURE', [
    'HQC-256 decapsulation',
  ]);
  const crashing = createHqc256Kem(
    fakeBackend({
      keypair: () => Promise.reject(new Error('sk=deadbeef')),
    }),
  );
  let caught: unknown;
  await crashing.keygen().catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof PqpskError && caught.code === 'INTERNAL');
  assert.ok(!caught.message.includes('deadbeef'));
});
