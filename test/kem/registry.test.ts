import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertAlgorithmList,
  checkAlgorithmList,
  createKem,
  isSupportedKemName,
  kemSizes,
  resolveKemName,
  SUPPORTED_KEM_NAMES,
} from '../../src/kem/registry.js';
import { assertRejectsLabelled } from './helpers.js';

test('supported names in client order, with the sizes the wire protocol fixes', () => {
  assert.deepEqual(SUPPORTED_KEM_NAMES, ['ML-KEM-1024', 'HQC-256', 'Classic-McEliece-460896f-round3']);
  assert.deepEqual({ ...kemSizes('Classic-McEliece-460896f-round3') }, { publicKey: 524160, secretKey: 13568, ciphertext: 188, sharedSecret: 32 });
  assert.deepEqual({ ...kemSizes('ML-KEM-1024') }, { publicKey: 1568, secretKey: 3168, ciphertext: 1568, sharedSecret: 32 });
  assert.deepEqual({ ...kemSizes('HQC-256') }, { publicKey: 7245, secretKey: 7317, ciphertext: 14421, sharedSecret: 64 });
  assert.equal(resolveKemName('HQC-256'), 'HQC-256');
  assert.ok(isSupportedKemName('ML-KEM-1024'));
  assert.ok(!isSupportedKemName('ml-kem-1024'));
});

test('protocol names we do not implement are rejected by name, listing what is supported', async () => {
  for (const name of ['Kyber1024']) {
    await assertRejectsLabelled(() => resolveKemName(name, 'kem_pubkeys[0].algorithm_name'), 'UNSUPPORTED_ALGORITHM', [
      'kem_pubkeys[0].algorithm_name',
      `"${name}"`,
      'not implemented',
      'supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3',
    ]);
    await assertRejectsLabelled(() => createKem(name), 'UNSUPPORTED_ALGORITHM', [`"${name}"`]);
    await assertRejectsLabelled(() => kemSizes(name), 'UNSUPPORTED_ALGORITHM', [`"${name}"`]);
  }
});

test('unknown names, wrong case and non-strings are refused', async () => {
  for (const name of ['ml-kem-1024', 'HQC-128', '', 'ML-KEM-1024 ']) {
    await assertRejectsLabelled(() => resolveKemName(name), 'UNSUPPORTED_ALGORITHM', [
      'algorithm_name',
      'not a known KEM',
      'supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3',
    ]);
  }
  await assertRejectsLabelled(() => resolveKemName(7), 'INVALID_INPUT', ['algorithm_name', 'got number']);
  await assertRejectsLabelled(() => resolveKemName(null), 'INVALID_INPUT', ['got null']);
});

test('a peer-supplied name is shown bounded and printable', async () => {
  const hostile = `evil\n\u001b[31m${'x'.repeat(500)}`;
  try {
    resolveKemName(hostile);
    assert.fail('should throw');
  } catch (err) {
    const message = (err as Error).message;
    assert.ok(!message.includes('\n') && !message.includes('\u001b'), message);
    assert.ok(message.length < 250, `${message.length}`);
    assert.ok(message.includes('"evil??[31m'), message);
  }
});

test('createKem builds ML-KEM-1024; HQC-256 needs an injected backend', async () => {
  const kem = createKem('ML-KEM-1024');
  assert.equal(kem.name, 'ML-KEM-1024');
  const { publicKey, secretKey } = await kem.keygen();
  const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
  assert.deepEqual(await kem.decapsulate(ciphertext, secretKey), sharedSecret);
  await assertRejectsLabelled(() => createKem('HQC-256'), 'INTERNAL', ['HQC-256', 'backend']);
});

test('algorithm list: what clients send passes, in request order', () => {
  assert.deepEqual(checkAlgorithmList(['ML-KEM-1024', 'HQC-256']), { ok: true, names: ['ML-KEM-1024', 'HQC-256'] });
  assert.deepEqual(checkAlgorithmList(['HQC-256']), { ok: true, names: ['HQC-256'] });
  assert.deepEqual(assertAlgorithmList(['HQC-256', 'ML-KEM-1024']), ['HQC-256', 'ML-KEM-1024']);
});

function problems(names: unknown[]): { code: string; message: string }[] {
  const result = checkAlgorithmList(names);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.errors.map((e) => ({ code: e.code, message: e.message }));
}

test('algorithm list: empty, repeated, unsupported and Kyber1024 beside ML-KEM-1024 are all reported', () => {
  assert.deepEqual(problems([]), [
    { code: 'INVALID_INPUT', message: 'post_quantum.kem_pubkeys: expected at least one KEM public key, got none' },
  ]);
  assert.deepEqual(problems(['HQC-256', 'HQC-256']), [
    {
      code: 'INVALID_INPUT',
      message: 'post_quantum.kem_pubkeys[1].algorithm_name: "HQC-256" repeats post_quantum.kem_pubkeys[0]',
    },
  ]);
  const mixed = problems(['Kyber1024', 'ML-KEM-1024']);
  assert.deepEqual(mixed.map((p) => p.code), ['UNSUPPORTED_ALGORITHM', 'INVALID_INPUT']);
  assert.match(mixed[0]!.message, /^post_quantum\.kem_pubkeys\[0\]\.algorithm_name: "Kyber1024" .*supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3\)$/);
  assert.equal(mixed[1]!.message, 'post_quantum.kem_pubkeys: Kyber1024 and ML-KEM-1024 must not be requested together');
  const several = problems(['ML-KEM-1024', 'Classic-McEliece-460896f-round2', 3]);
  assert.deepEqual(several.map((p) => p.code), ['UNSUPPORTED_ALGORITHM', 'INVALID_INPUT']);
  assert.match(several[0]!.message, /kem_pubkeys\[1\]\.algorithm_name: "Classic-McEliece-460896f-round2"/);
  assert.match(several[1]!.message, /kem_pubkeys\[2\]\.algorithm_name: expected a string, got number/);
  assert.deepEqual(problems(['a', 'b', 'c', 'd', 'e']), [
    { code: 'INVALID_INPUT', message: 'post_quantum.kem_pubkeys: expected at most 4 entries, got 5' },
  ]);
});

test('algorithm list: the list label is the caller\'s; assert throws the first problem', async () => {
  const result = checkAlgorithmList(['X'], 'request.kems');
  assert.ok(!result.ok && result.errors[0]!.message.startsWith('request.kems[0].algorithm_name: "X"'));
  await assertRejectsLabelled(() => assertAlgorithmList(['ML-KEM-1024', 'Kyber1024']), 'UNSUPPORTED_ALGORITHM', [
    'kem_pubkeys[1].algorithm_name',
    '"Kyber1024"',
  ]);
});
