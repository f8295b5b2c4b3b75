import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ciphertextsFromResponse, type RequestedKem } from '../../src/protocol/response.js';

const requested: RequestedKem[] = [
  { name: 'ML-KEM-1024', sizes: { publicKey: 1568, secretKey: 3168, ciphertext: 1568, sharedSecret: 32 } },
  { name: 'HQC-256', sizes: { publicKey: 7245, secretKey: 7317, ciphertext: 14421, sharedSecret: 64 } },
];
const response = (cts: Buffer[] | null) => ({ post_quantum: cts === null ? null : { ciphertexts: cts }, daita: null });

test('well-formed answers come back in request order', () => {
  const a = Buffer.alloc(1568, 1);
  const b = Buffer.alloc(14421, 2);
  const [first, second] = ciphertextsFromResponse(response([a, b]), requested);
  assert.equal(first, a);
  assert.equal(second, b);
});

test('a wrong-length ciphertext names the algorithm, the actual and the expected size', () => {
  assert.throws(
    () => ciphertextsFromResponse(response([Buffer.alloc(1568), Buffer.alloc(14420)]), requested),
    (err: Error & { code?: string }) => err.code === 'RPC_FAILURE' && /HQC-256 ciphertext: expected 14421 bytes, got 14420/.test(err.message),
  );
  assert.throws(() => ciphertextsFromResponse(response([Buffer.alloc(1), Buffer.alloc(14421)]), requested), /ML-KEM-1024 ciphertext: expected 1568 bytes, got 1/);
});

test('missing or miscounted ciphertexts are refused', () => {
  assert.throws(() => ciphertextsFromResponse(response(null), requested), /post_quantum missing/);
  assert.throws(() => ciphertextsFromResponse(response([Buffer.alloc(1568)]), requested), /expected 2 ciphertexts \(ML-KEM-1024, HQC-256\), got 1/);
  assert.throws(() => ciphertextsFromResponse(response([Buffer.alloc(1568), Buffer.alloc(14421), Buffer.alloc(1)]), requested), /got 3/);
});
