import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { combineSharedSecrets, Psk, pskFingerprint } from '../../src/kem/psk.js';
import { PSK_BYTES } from '../../src/protocol/wireguard.js';
import { assertRejectsLabelled, fromHex, hex } from './helpers.js';

interface VectorCase {
  name: string;
  secrets: { algorithm: string; hex: string }[];
  psk: string;
  fingerprint: string;
}

// dist/test/kem/ → the repository's test/vectors/ (vectors are not copied into dist).
const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/psk-combiner.json', import.meta.url), 'utf8'),
) as { cases: VectorCase[] };

test('the golden file has the cases its README describes', () => {
  assert.equal(vectors.cases.length, 4);
  assert.deepEqual(
    vectors.cases[0]!.secrets.map((s) => s.algorithm),
    ['ML-KEM-1024', 'HQC-256'],
  );
});

for (const c of vectors.cases) {
  test(`golden PSK: ${c.name}`, () => {
    const secrets = c.secrets.map((s) => fromHex(s.hex));
    const copies = secrets.map((s) => s.slice());
    const psk = combineSharedSecrets(secrets);
    assert.equal(psk.length, PSK_BYTES);
    assert.equal(hex(psk), c.psk);
    assert.equal(pskFingerprint(psk), c.fingerprint);
    // Inputs stay the caller's, untouched.
    assert.deepEqual(secrets, copies);
  });
}

test('one flipped bit in any secret changes the PSK', () => {
  const c = vectors.cases[0]!;
  for (let i = 0; i < c.secrets.length; i++) {
    const secrets = c.secrets.map((s) => fromHex(s.hex));
    secrets[i]![secrets[i]!.length - 1]! ^= 1;
    assert.notEqual(hex(combineSharedSecrets(secrets)), c.psk);
  }
});

test('a 32-byte secret is XORed as is, any other length hashed first', () => {
  const a = new Uint8Array(32).fill(0x11);
  assert.equal(hex(combineSharedSecrets([a])), '11'.repeat(32));
  // Two equal 32-byte secrets cancel; a 33-byte one is hashed (node:crypto as the reference).
  assert.equal(hex(combineSharedSecrets([a, a])), '00'.repeat(32));
  const odd = new Uint8Array(33).fill(0x11);
  assert.equal(hex(combineSharedSecrets([odd])), createHash('sha256').update(odd).digest('hex'));
});

test('combiner rejects an empty list and empty or non-byte secrets, naming the position', async () => {
  await assertRejectsLabelled(() => combineSharedSecrets([]), 'INVALID_INPUT', ['shared secrets', 'none']);
  await assertRejectsLabelled(
    () => combineSharedSecrets([new Uint8Array(32), new Uint8Array(0)]),
    'INVALID_INPUT',
    ['shared secret [1]', '0 bytes'],
  );
  await assertRejectsLabelled(
    () => combineSharedSecrets(['secret' as unknown as Uint8Array]),
    'INVALID_INPUT',
    ['shared secret [0]', 'string'],
  );
});

test('fingerprint is the first 8 bytes of SHA-256(psk), and checks the PSK length', async () => {
  assert.equal(pskFingerprint(new Uint8Array(32)), '66687aadf862bd77'); // SHA-256 of 32 zero bytes
  const long = new Uint8Array(33).fill(0xab);
  await assertRejectsLabelled(() => pskFingerprint(long), 'INVALID_INPUT', ['PSK', 'expected 32 bytes', 'got 33'], [long]);
});

test('Psk never prints its bytes', () => {
  const bytes = new Uint8Array(32).fill(0x5c);
  const psk = Psk.fromSharedSecrets([bytes]);
  for (const shown of [JSON.stringify({ psk }), inspect(psk), inspect({ psk }, { depth: 5 }), `${psk}`, String(psk)]) {
    assert.ok(shown.includes('<secret>'), shown);
    assert.ok(!shown.includes('5c5c'), shown);
  }
  assert.equal(psk.fingerprint(), pskFingerprint(bytes));
  const live = psk.bytes();
  psk.wipe();
  assert.deepEqual(live, new Uint8Array(32));
  assert.throws(() => psk.bytes(), { code: 'INTERNAL' });
});

test('Psk refuses a wrong length', async () => {
  await assertRejectsLabelled(() => new Psk(new Uint8Array(31)), 'INVALID_INPUT', ['PSK', 'got 31']);
});
