import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WireRegisterRequest } from '../../src/protocol/messages.js';
import { DAITA_UNSUPPORTED, MAX_REQUEST_BYTES, buildRegisterRequest, requestBytesBound, validateRegisterRequest } from '../../src/protocol/request.js';

const parent = Buffer.alloc(32, 0xa1);
const ephemeral = Buffer.alloc(32, 0xb2);
const mlkem = { algorithm_name: 'ML-KEM-1024', key_data: Buffer.alloc(1568, 0xc3) };
const hqc = { algorithm_name: 'HQC-256', key_data: Buffer.alloc(7245, 0xd4) };

function request(overrides: Partial<WireRegisterRequest> = {}): WireRegisterRequest {
  return {
    wg_parent_pubkey: parent,
    wg_ephemeral_peer_pubkey: ephemeral,
    post_quantum: { kem_pubkeys: [mlkem, hqc] },
    daita: null,
    daita_v2: null,
    ...overrides,
  };
}

/** Asserts the code, the message, and that no byte pattern of the keys leaked into it. */
function rejects(req: WireRegisterRequest, code: string, message: RegExp): void {
  assert.throws(
    () => validateRegisterRequest(req),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /(a1a1|b2b2|c3c3|d4d4)/i, 'key bytes in an error message');
      return true;
    },
  );
}

test('a well-formed request validates and keeps request order', () => {
  const valid = validateRegisterRequest(request({ post_quantum: { kem_pubkeys: [hqc, mlkem] } }));
  assert.deepEqual(valid.kems.map((k) => k.name), ['HQC-256', 'ML-KEM-1024']);
  assert.equal(valid.kems[0]?.publicKey, hqc.key_data);
  assert.equal(valid.parentKey, parent);
});

test('a single supported KEM is enough', () => {
  assert.equal(validateRegisterRequest(request({ post_quantum: { kem_pubkeys: [mlkem] } })).kems.length, 1);
});

test('wrong WireGuard key lengths name the field', () => {
  rejects(request({ wg_parent_pubkey: Buffer.alloc(31, 0xa1) }), 'INVALID_INPUT', /^wg_parent_pubkey: expected 32 bytes, got 31$/);
  rejects(request({ wg_ephemeral_peer_pubkey: Buffer.alloc(33, 0xb2) }), 'INVALID_INPUT', /^wg_ephemeral_peer_pubkey: expected 32 bytes, got 33$/);
  rejects(request({ wg_parent_pubkey: Buffer.alloc(0) }), 'INVALID_INPUT', /got 0/);
});

test('the ephemeral key may not be the parent key', () => {
  rejects(request({ wg_ephemeral_peer_pubkey: parent }), 'INVALID_INPUT', /must differ from wg_parent_pubkey/);
});

test('wrong KEM key lengths name the entry and algorithm', () => {
  rejects(
    request({ post_quantum: { kem_pubkeys: [mlkem, { algorithm_name: 'HQC-256', key_data: Buffer.alloc(12, 0xd4) }] } }),
    'INVALID_INPUT',
    /^post_quantum\.kem_pubkeys\[1\] HQC-256 public key: expected 7245 bytes, got 12$/,
  );
});

test('missing post_quantum, empty list, unknown and duplicate algorithms are refused', () => {
  rejects(request({ post_quantum: null }), 'INVALID_INPUT', /^post_quantum: missing/);
  rejects(request({ post_quantum: { kem_pubkeys: [] } }), 'INVALID_INPUT', /kem_pubkeys: expected at least one/);
  rejects(request({ post_quantum: { kem_pubkeys: [mlkem, mlkem] } }), 'INVALID_INPUT', /repeats/);
  rejects(
    request({ post_quantum: { kem_pubkeys: [{ algorithm_name: 'Kyber1024', key_data: Buffer.alloc(8) }] } }),
    'UNSUPPORTED_FEATURE',
    /Kyber1024.*supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3/,
  );
  rejects(
    request({ post_quantum: { kem_pubkeys: [{ algorithm_name: 'NTRU', key_data: Buffer.alloc(8) }] } }),
    'UNSUPPORTED_ALGORITHM',
    /"NTRU" is not a known KEM/,
  );
});

test('Kyber1024 is refused as unimplemented, naming what is supported, and never accepted beside ML-KEM-1024', () => {
  rejects(
    request({ post_quantum: { kem_pubkeys: [{ algorithm_name: 'Kyber1024', key_data: Buffer.alloc(1568) }, hqc] } }),
    'UNSUPPORTED_FEATURE',
    /"Kyber1024" is defined by the protocol but not implemented by pqpsk \(supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3\)$/,
  );
  rejects(request({ post_quantum: { kem_pubkeys: [mlkem, { algorithm_name: 'Kyber1024', key_data: Buffer.alloc(1568) }] } }), 'UNSUPPORTED_ALGORITHM', /Kyber1024/);
});

test('DAITA requests are refused as unsupported, whichever version asks', () => {
  rejects(request({ daita: { activate_daita: true } }), 'UNSUPPORTED_FEATURE', new RegExp(`^${DAITA_UNSUPPORTED}$`));
  rejects(request({ daita_v2: { version: 2, platform: 'linux_wg_go', level: 'level_default' } }), 'UNSUPPORTED_FEATURE', /DAITA/);
  // An explicit "DAITA off" is not a DAITA request.
  assert.equal(validateRegisterRequest(request({ daita: { activate_daita: false } })).kems.length, 2);
});

test('the client builds requests that the relay accepts', () => {
  const built = buildRegisterRequest(parent, ephemeral, [
    { name: 'ML-KEM-1024', publicKey: mlkem.key_data },
    { name: 'HQC-256', publicKey: hqc.key_data },
  ]);
  const asDecoded = { ...request(), ...built } as WireRegisterRequest;
  assert.deepEqual(validateRegisterRequest(asDecoded).kems.map((k) => k.name), ['ML-KEM-1024', 'HQC-256']);
  assert.throws(() => buildRegisterRequest(parent.subarray(0, 4), ephemeral, []), /parent public key: expected 32 bytes, got 4/);
});

test('Classic McEliece: a 524 160-byte key in any position; a wrong length is refused by name', () => {
  const mceliece = { algorithm_name: 'Classic-McEliece-460896f-round3', key_data: Buffer.alloc(524160, 0xe5) };
  for (const order of [[mceliece, mlkem], [mlkem, mceliece], [hqc, mceliece, mlkem], [mceliece]]) {
    const valid = validateRegisterRequest(request({ post_quantum: { kem_pubkeys: order } }));
    assert.deepEqual(valid.kems.map((k) => k.name), order.map((k) => k.algorithm_name));
  }
  rejects(
    request({ post_quantum: { kem_pubkeys: [{ ...mceliece, key_data: Buffer.alloc(524159) }, mlkem] } }),
    'INVALID_INPUT',
    /^post_quantum\.kem_pubkeys\[0\] Classic-McEliece-460896f-round3 public key: expected 524160 bytes, got 524159$/,
  );
});

test('a request may be as big as its algorithms need and no bigger', () => {
  const mlOnly = requestBytesBound(['ML-KEM-1024']);
  const withMcEliece = requestBytesBound(['Classic-McEliece-460896f-round3', 'ML-KEM-1024']);
  assert.ok(mlOnly > 1568 + 64 && mlOnly < 4096, `ML-KEM-1024 alone: ${mlOnly}`);
  assert.ok(withMcEliece > 524160 + 1568 && withMcEliece < 530_000, `McEliece + ML-KEM-1024: ${withMcEliece}`);
  assert.equal(MAX_REQUEST_BYTES, requestBytesBound(['ML-KEM-1024', 'HQC-256', 'Classic-McEliece-460896f-round3']));
  const small = request({ post_quantum: { kem_pubkeys: [mlkem] } });
  assert.doesNotThrow(() => validateRegisterRequest(small, mlOnly));
  assert.throws(() => validateRegisterRequest(small, mlOnly + 1), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_INPUT');
    assert.equal(err.message, `request: ${mlOnly + 1} bytes, more than its algorithms need (at most ${mlOnly})`);
    return true;
  });
});
