import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKem } from '../../src/kem/registry.js';
import { combineSharedSecrets, pskFingerprint } from '../../src/kem/psk.js';
import type { Kem } from '../../src/kem/types.js';
import { buildRegisterRequest, validateRegisterRequest } from '../../src/protocol/request.js';
import { ciphertextsFromResponse } from '../../src/protocol/response.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { startRpcServer } from '../../src/rpc/server.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';

// The smallest honest relay: validate, encapsulate in request order, derive the PSK.
// It grows into src/server/; here it proves both ends agree over real gRPC on loopback.
test('client and a minimal relay derive the same PSK over gRPC on 127.0.0.1', async () => {
  const hqc = createInThreadHqc256Kem();
  const kems: Kem[] = [createKem('ML-KEM-1024'), hqc];
  const byName = new Map(kems.map((k) => [k.name, k]));
  let relayPsk: Uint8Array | undefined;

  const server = await startRpcServer(
    '127.0.0.1:0',
    async (wire) => {
      const request = validateRegisterRequest(wire);
      const encapsulations = [];
      for (const { name, publicKey } of request.kems) {
        encapsulations.push(await (byName.get(name) as Kem).encapsulate(publicKey));
      }
      relayPsk = combineSharedSecrets(encapsulations.map((e) => e.sharedSecret));
      for (const e of encapsulations) e.sharedSecret.fill(0);
      return { post_quantum: { ciphertexts: encapsulations.map((e) => e.ciphertext) } };
    },
    { maxRequestBytes: 12 * 1024 },
  );
  try {
    const keypairs = await Promise.all(kems.map((k) => k.keygen()));
    const request = buildRegisterRequest(
      randomBytes(32),
      randomBytes(32),
      kems.map((k, i) => ({ name: k.name, publicKey: (keypairs[i] as { publicKey: Uint8Array }).publicKey })),
    );
    const response = await callRegisterPeer(server.address, request, { deadline: Date.now() + 10_000 });
    const ciphertexts = ciphertextsFromResponse(response, kems);
    const secrets: Uint8Array[] = [];
    for (const [i, kem] of kems.entries()) {
      const pair = keypairs[i] as { secretKey: Uint8Array };
      secrets.push(await kem.decapsulate(ciphertexts[i] as Uint8Array, pair.secretKey));
      pair.secretKey.fill(0);
    }
    assert.equal(secrets[0]?.length, 32);
    assert.equal(secrets[1]?.length, 64);
    const clientPsk = combineSharedSecrets(secrets);
    assert.ok(relayPsk, 'the relay derived a PSK');
    assert.equal(pskFingerprint(clientPsk), pskFingerprint(relayPsk));
    assert.deepEqual(clientPsk, relayPsk);
    assert.notDeepEqual(clientPsk, new Uint8Array(32), 'not the all-zero key');
  } finally {
    server.forceShutdown();
  }
});
