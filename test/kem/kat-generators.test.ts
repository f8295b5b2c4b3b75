import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HqcShakePrng, hexUpper, katRecordText, katSeed, NistCtrDrbg } from './kat-generators.js';

test('NIST DRBG seeded with 0..47 yields the count = 0 seed printed in every NIST PQC KAT file', () => {
  assert.equal(
    hexUpper(katSeed((e) => new NistCtrDrbg(e))),
    '061550234D158C5EC95595FE04EF7A25767F2E24CC2BC479D09D86DC9ABCFDE7056A8C266F9EF97ED08541DBD2E1FFA1',
  );
});

test('NIST DRBG updates its state after every call (two 16-byte calls differ from one 32-byte call)', () => {
  const entropy = new Uint8Array(48);
  const one = new Uint8Array(32);
  new NistCtrDrbg(entropy).fill(one);
  const g = new NistCtrDrbg(entropy);
  const a = new Uint8Array(16);
  const b = new Uint8Array(16);
  g.fill(a);
  g.fill(b);
  assert.deepEqual(a, one.subarray(0, 16));
  assert.notDeepEqual(b, one.subarray(16));
});

test('HQC PRNG squeezes continuously: split draws equal one long draw', () => {
  const entropy = Uint8Array.from({ length: 48 }, (_, i) => 47 - i);
  const whole = new Uint8Array(200);
  new HqcShakePrng(entropy).fill(whole);
  const g = new HqcShakePrng(entropy);
  const parts = [40, 3, 136, 21].map((n) => {
    const out = new Uint8Array(n);
    g.fill(out);
    return out;
  });
  assert.deepEqual(Buffer.concat(parts), Buffer.from(whole));
});

test('the KAT record layout is NIST .rsp lines with upper-case hex and no blank line', () => {
  const b = (n: number, v: number) => new Uint8Array(n).fill(v);
  assert.equal(
    katRecordText({ seed: b(1, 0xab), pk: b(1, 1), sk: b(1, 2), ct: b(1, 3), ss: b(1, 0xfe) }),
    'count = 0\nseed = AB\npk = 01\nsk = 02\nct = 03\nss = FE\n',
  );
});
