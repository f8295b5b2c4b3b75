/**
 * The memory-hygiene check both WebAssembly loaders must pass: after every operation,
 * linear memory is as it was before (but for a few bytes of allocator bookkeeping), and
 * no secret, input, output or random draw can be found in it.
 */
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import type { Encapsulation, KemKeypair, RandomFill } from '../../../src/kem/types.js';

/** KEM operations on one instance, synchronous, as the loaders offer them. */
export interface SyncKemOps {
  keypair(): KemKeypair;
  encapsulate(publicKey: Uint8Array): Encapsulation;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * Randomness that also records every draw and the module's memory (the view it fills lies
 * in linear memory), so the test can look for residue without any hook in the loader.
 */
function spyingRandom() {
  const spy = { memory: undefined as ArrayBuffer | undefined, draws: [] as Uint8Array[] };
  const fill: RandomFill = (out) => {
    randomFillSync(out);
    spy.memory = out.buffer as ArrayBuffer;
    spy.draws.push(out.slice());
  };
  return { spy, fill };
}

function occurs(memory: Buffer, secret: Uint8Array): boolean {
  const windows = [0, Math.max(0, (secret.length >> 1) - 8), Math.max(0, secret.length - 16)];
  return windows.some((at) => memory.indexOf(Buffer.from(secret.subarray(at, at + 16))) !== -1);
}

function changedBytes(before: Uint8Array, after: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) n++;
  return n;
}

/**
 * Run keygen, encapsulation and decapsulation on an instance made by `instantiate` (given
 * spying randomness) and check the memory after each; `label` names the case in failures.
 */
export function assertNoResidue(label: string, instantiate: (randomFill: RandomFill) => SyncKemOps, allowedChanges = 16): void {
  const { spy, fill } = spyingRandom();
  const kem = instantiate(fill);
  // Warm up once so the allocator's own bookkeeping has settled.
  const warm = kem.keypair();
  kem.decapsulate(kem.encapsulate(warm.publicKey).ciphertext, warm.secretKey);
  const memory = () => new Uint8Array(spy.memory!);
  spy.draws.length = 0;

  let before = memory().slice();
  const { publicKey, secretKey } = kem.keypair();
  const afterKeygen = memory();
  // The search itself works: the draws were in this memory while keygen ran.
  assert.ok(spy.draws.length > 0);
  assert.ok(changedBytes(before, afterKeygen) <= allowedChanges, `${label} keygen left ${changedBytes(before, afterKeygen)} bytes`);

  before = afterKeygen.slice();
  const { ciphertext, sharedSecret } = kem.encapsulate(publicKey);
  const afterEnc = memory();
  assert.ok(changedBytes(before, afterEnc) <= allowedChanges, `${label} encapsulation left ${changedBytes(before, afterEnc)} bytes`);

  before = afterEnc.slice();
  const decapsulated = kem.decapsulate(ciphertext, secretKey);
  const afterDec = memory();
  assert.ok(changedBytes(before, afterDec) <= allowedChanges, `${label} decapsulation left ${changedBytes(before, afterDec)} bytes`);
  assert.deepEqual(decapsulated, sharedSecret);

  const all = Buffer.from(memory());
  for (const secret of [secretKey, sharedSecret, publicKey, ciphertext, ...spy.draws]) {
    assert.ok(!occurs(all, secret), `${label}: a ${secret.length}-byte value survived in linear memory`);
  }
}
