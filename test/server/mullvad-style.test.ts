/**
 * The relay against a client that shares none of pqpsk's client, protocol or KEM code
 * (test/fixtures/mullvad-style-client.ts), over real loopback gRPC: every combination
 * Mullvad's clients send ends with the PSK the relay set, and a request is allowed to be
 * as big as its algorithms make it and no bigger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requestBytesBound, MAX_REQUEST_BYTES } from '../../src/protocol/request.js';
import type { RpcServer } from '../../src/rpc/server.js';
import * as grpc from '@grpc/grpc-js';
import { encodeRequest, MULLVAD_COMBINATIONS, negotiateLikeMullvad, sendRaw } from '../fixtures/mullvad-style-client.js';
import { IFACE, makeWorld, serveOverLoopback, setCount, wgKeypair, type World } from './helpers.js';

/** The gRPC status name and details a raw call failed with. */
async function grpcRejection(call: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await call;
  } catch (err) {
    const { code, details } = err as grpc.ServiceError;
    return { code: grpc.status[code], details };
  }
  assert.fail('expected the call to fail');
}

describe('a Mullvad-style client over loopback gRPC', () => {
  let world: World;
  let server: RpcServer;

  before(async () => {
    world = await makeWorld();
    server = await serveOverLoopback(world);
  });
  after(() => server.forceShutdown());

  for (const names of MULLVAD_COMBINATIONS) {
    test(`[${names.join(', ')}]: the relay holds the PSK the client derived`, async () => {
      const result = await negotiateLikeMullvad(server.address, world.P.raw, names);
      const ephemeral = Buffer.from(result.ephemeralPublicKey).toString('base64');
      const relayPsk = world.wg.presharedKeyOf(IFACE, ephemeral);
      try {
        assert.ok(relayPsk !== null, 'the relay added the ephemeral peer');
        assert.deepEqual(Buffer.from(relayPsk), Buffer.from(result.psk));
      } finally {
        result.psk.fill(0);
        result.ephemeralPrivateKey.fill(0);
        relayPsk?.fill(0);
      }
    });
  }

  test('the reverse order [ML-KEM-1024, Classic-McEliece-460896f-round3] works too', async () => {
    const result = await negotiateLikeMullvad(server.address, world.P.raw, ['ML-KEM-1024', 'Classic-McEliece-460896f-round3']);
    const relayPsk = world.wg.presharedKeyOf(IFACE, Buffer.from(result.ephemeralPublicKey).toString('base64'));
    assert.deepEqual(Buffer.from(relayPsk ?? []), Buffer.from(result.psk));
  });

  test('a request padded beyond what its algorithms need is refused, and the interface is untouched', async () => {
    const before = setCount(world.wg);
    const mlkemKey = new Uint8Array(1568);
    const ephemeral = wgKeypair().raw;
    // Room for a McEliece key, but the request names ML-KEM-1024 only.
    const padded = encodeRequest(world.P.raw, ephemeral, [{ name: 'ML-KEM-1024', publicKey: mlkemKey }], 524_160);
    assert.ok(padded.length < MAX_REQUEST_BYTES, 'under the transport limit, so only the relay\'s own check can refuse it');
    const err = await grpcRejection(sendRaw(server.address, padded, 10_000));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.details, /^request: \d+ bytes, more than its algorithms need \(at most \d+\)$/);
    assert.equal(setCount(world.wg), before);
    // A little padding (a field a newer client might add) stays within the bound.
    assert.ok(encodeRequest(world.P.raw, ephemeral, [{ name: 'ML-KEM-1024', publicKey: mlkemKey }], 64).length <= requestBytesBound(['ML-KEM-1024']));
  });

  test('the transport limit is the largest valid request: one byte more is refused before decoding', async () => {
    const err = await grpcRejection(sendRaw(server.address, encodeRequest(world.P.raw, wgKeypair().raw, [], MAX_REQUEST_BYTES), 10_000));
    assert.equal(err.code, 'RESOURCE_EXHAUSTED');
  });
});
