import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { shake256 } from '@noble/hashes/sha3.js';
import { referenceMcElieceBackend } from '../../src/client/mceliece.js';
import {
  CLASSIC_MCELIECE_460896F_SIZES,
  classicMcEliece460896fEncapsulate,
  createClassicMcEliece460896f,
} from '../../src/kem/classic-mceliece-460896f.js';
import { assertRejectsLabelled, marked } from './helpers.js';
import { katRecordText, NistCtrDrbg, runKat, sha256Hex, SwitchableRandom } from './kat-generators.js';

/** PQClean's META.yml for mceliece460896f with the 188-byte ciphertext (see the vectors' README). */
const NISTKAT_SHA256 = 'b0822a5d00d7fad26380044c77b33370a5fb38e7851263229f590cac323a46a7';
const VECTORS = new URL('../../../test/vectors/classic-mceliece-460896f/', import.meta.url);
/** What the reference key generation drew from the DRBG, in one call (the harness's log). */
const KEYGEN_DRAW_BYTES = 32;

function vector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, VECTORS)));
}

test('sizes as the wire expects: 524 160-byte key, 188-byte ciphertext, 32-byte secret', () => {
  const kem = createClassicMcEliece460896f();
  assert.equal(kem.name, 'Classic-McEliece-460896f-round3');
  assert.deepEqual({ ...kem.sizes }, { publicKey: 524160, secretKey: 13568, ciphertext: 188, sharedSecret: 32 });
});

test('our encapsulation reproduces the published nistkat-sha256 of mceliece460896f (188-byte ciphertext)', async () => {
  const random = new SwitchableRandom();
  const pk = vector('kat0.pk.bin');
  const sk = vector('kat0.sk.bin');
  const { record, decapsulated } = await runKat(random, (e) => new NistCtrDrbg(e), {
    keypair: () => {
      random.fill(new Uint8Array(KEYGEN_DRAW_BYTES));
      return { publicKey: pk, secretKey: sk };
    },
    encapsulate: (publicKey) => classicMcEliece460896fEncapsulate(publicKey, random.fill),
    // The reference decapsulation must recover what we encapsulated from the KAT key.
    decapsulate: (ct, secretKey) => referenceMcElieceBackend.decapsulate(ct, secretKey),
  });
  assert.equal(record.ct.length, 188);
  assert.equal(sha256Hex(katRecordText(record)), NISTKAT_SHA256);
  assert.deepEqual(decapsulated, record.ss);
});

test('decapsulation cross-check: the reference code recovers our K from fresh keys and fresh e', async () => {
  const kem = createClassicMcEliece460896f({ backend: referenceMcElieceBackend });
  const { publicKey, secretKey } = await kem.keygen();
  for (let i = 0; i < 3; i++) {
    const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
    assert.deepEqual(await kem.decapsulate(ciphertext, secretKey), sharedSecret);
  }
});

test('C1 and K follow round 3: C1 = SHAKE256(2‖e), K = SHAKE256(1‖e‖C0‖C1), e of weight 96', async () => {
  // Capture e by drawing the sampler's bytes ourselves: a draw of 96 distinct small
  // candidates (0, 48, 96, …) is accepted as is, so e has exactly those bits.
  const positions = Array.from({ length: 96 }, (_, i) => i * 48);
  const draw = new Uint8Array(384);
  positions.forEach((p, i) => {
    draw[2 * i] = p & 0xff;
    draw[2 * i + 1] = p >> 8;
  });
  const pk = vector('kat0.pk.bin');
  const { ciphertext, sharedSecret } = classicMcEliece460896fEncapsulate(pk, (out) => out.set(draw.subarray(0, out.length)));
  const e = new Uint8Array(576);
  for (const p of positions) e[p >> 3]! |= 1 << (p & 7);
  assert.deepEqual(ciphertext.subarray(156), shake256(Uint8Array.of(2, ...e), { dkLen: 32 }));
  assert.deepEqual(sharedSecret, shake256(Uint8Array.of(1, ...e, ...ciphertext), { dkLen: 32 }));
  // C0 bit i is e_i ⊕ ⟨row_i, e_tail⟩, checked here bit by bit, without words.
  for (const row of [0, 1, 7, 623, 1247]) {
    let bit = (e[row >> 3]! >> (row & 7)) & 1;
    for (let j = 0; j < 420; j++) {
      let x = pk[row * 420 + j]! & e[156 + j]!;
      while (x !== 0) {
        bit ^= x & 1;
        x >>= 1;
      }
    }
    assert.equal((ciphertext[row >> 3]! >> (row & 7)) & 1, bit, `syndrome bit ${row}`);
  }
});

test('a misaligned public key (a view into a received message) gives the same ciphertext', () => {
  const pk = vector('kat0.pk.bin');
  const shifted = new Uint8Array(pk.length + 3);
  shifted.set(pk, 3);
  const seed = Uint8Array.from({ length: 48 }, (_, i) => i);
  const drbg = (): ((out: Uint8Array) => void) => {
    const g = new NistCtrDrbg(seed);
    return (out) => g.fill(out);
  };
  const a = classicMcEliece460896fEncapsulate(pk, drbg());
  const b = classicMcEliece460896fEncapsulate(shifted.subarray(3), drbg());
  assert.deepEqual(b, a);
  // grpc-js hands the relay Buffers, whose slice() is a view, not a copy.
  const received = Buffer.alloc(pk.length + 1);
  received.set(pk, 1);
  const c = classicMcEliece460896fEncapsulate(received.subarray(1), drbg());
  assert.deepEqual(c, a);
});

test('wrong lengths are refused by name; keygen and decapsulation without a backend say why', async () => {
  const kem = createClassicMcEliece460896f();
  for (const n of [0, 524159, 524161, 1568]) {
    const bad = marked(n);
    await assertRejectsLabelled(() => kem.encapsulate(bad), 'INVALID_INPUT', [
      'Classic-McEliece-460896f-round3 public key: expected 524160 bytes',
      `got ${n}`,
    ], [bad]);
  }
  await assertRejectsLabelled(() => kem.decapsulate(marked(156), new Uint8Array(13568)), 'INVALID_INPUT', [
    'ciphertext: expected 188 bytes',
  ]);
  await assertRejectsLabelled(() => kem.keygen(), 'UNSUPPORTED_ALGORITHM', ['only encapsulates']);
  await assertRejectsLabelled(() => kem.decapsulate(new Uint8Array(188), new Uint8Array(13568)), 'UNSUPPORTED_ALGORITHM', [
    'only encapsulates',
  ]);
  assert.equal(CLASSIC_MCELIECE_460896F_SIZES.ciphertext, 188);
});
