/**
 * The relay's warm-up before it opens: every KEM it runs is exercised in the forms real
 * requests bring, its pool is warmed, and no shared secret outlives a round.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kem } from '../../src/kem/types.js';
import { warmKems } from '../../src/server/warm.js';
import { provider } from './helpers.js';

/** A real KEM that records the keys it encapsulates to and the secrets it hands out. */
function recording(kem: Kem): { kem: Kem; keys: Uint8Array[]; secrets: Uint8Array[] } {
  const keys: Uint8Array[] = [];
  const secrets: Uint8Array[] = [];
  return {
    keys,
    secrets,
    kem: {
      ...kem,
      encapsulate: async (publicKey) => {
        keys.push(publicKey);
        const e = await kem.encapsulate(publicKey);
        secrets.push(e.sharedSecret);
        return e;
      },
    },
  };
}

test('warmKems: ML-KEM-1024 on a plain array, a Buffer and an odd-offset view; McEliece on a zero key; the pool warmed; secrets zeroed', async () => {
  const ml = recording(provider('ML-KEM-1024'));
  const mc = recording(provider('Classic-McEliece-460896f-round3'));
  let poolWarmed = false;
  await warmKems({ pool: { warm: async () => void (poolWarmed = true) }, mlKem: ml.kem, mcEliece: mc.kem });
  assert.ok(poolWarmed);
  assert.ok(ml.keys.length >= 8, `at least 8 rounds (${ml.keys.length})`);
  const forms = new Set(ml.keys.slice(0, 3).map((k) => `${k.constructor.name}@${k.byteOffset % 2}`));
  assert.deepEqual(forms, new Set(['Uint8Array@0', 'Buffer@0', 'Uint8Array@1']));
  assert.ok(mc.keys.length >= 8);
  assert.equal(mc.keys[0]!.length, 524_160);
  assert.ok(mc.keys[0]!.every((b) => b === 0));
  for (const s of [...ml.secrets, ...mc.secrets]) assert.ok(s.every((b) => b === 0), 'shared secret zeroed');
});
