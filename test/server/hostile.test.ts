/**
 * Hostile input over real loopback gRPC: each bad request gets its
 * status, the interface is not touched (no `wg set`, same peers) and the next valid
 * request still succeeds with the PSK the client derives.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { callRegisterPeer } from '../../src/rpc/client.js';
import type { RpcServer } from '../../src/rpc/server.js';
import { PERMISSION_DENIED_DETAILS } from '../../src/rpc/status.js';
import type { RegisterRequestInput } from '../../src/protocol/messages.js';
import { MAX_REQUEST_BYTES } from '../../src/protocol/request.js';
import { IFACE, asWireResponse, clientRequest, makeWorld, serveOverLoopback, peerTable, setCount, wgKeypair, type World } from './helpers.js';
import { rejection } from '../fixtures/errors.js';

const soon = (): number => Date.now() + 10_000;


describe('hostile requests over loopback gRPC', () => {
  let world: World;
  let server: RpcServer;
  let base: RegisterRequestInput;

  before(async () => {
    world = await makeWorld();
    server = await serveOverLoopback(world);
    base = (await clientRequest(world.P.raw, ['ML-KEM-1024'])).request;
  });
  after(() => server.forceShutdown());

  const mlkemKey = (): Uint8Array => base.post_quantum!.kem_pubkeys[0]!.key_data;
  const withKems = (kem_pubkeys: { algorithm_name: string; key_data: Uint8Array }[]): RegisterRequestInput => ({ ...base, post_quantum: { kem_pubkeys } });

  const cases: { name: string; request: () => RegisterRequestInput; status: RegExp; mentions?: RegExp }[] = [
    { name: 'short parent key', request: () => ({ ...base, wg_parent_pubkey: new Uint8Array(31) }), status: /rejected the request/, mentions: /wg_parent_pubkey: expected 32 bytes, got 31/ },
    { name: 'long ephemeral key', request: () => ({ ...base, wg_ephemeral_peer_pubkey: new Uint8Array(33) }), status: /rejected the request/, mentions: /wg_ephemeral_peer_pubkey: expected 32 bytes, got 33/ },
    { name: 'empty parent key', request: () => ({ ...base, wg_parent_pubkey: new Uint8Array(0) }), status: /rejected the request/, mentions: /wg_parent_pubkey/ },
    { name: 'ephemeral equal to parent', request: () => ({ ...base, wg_ephemeral_peer_pubkey: base.wg_parent_pubkey }), status: /rejected the request/, mentions: /must differ/ },
    { name: 'unknown algorithm', request: () => withKems([{ algorithm_name: 'RSA-4096', key_data: mlkemKey() }]), status: /rejected the request/, mentions: /"RSA-4096" is not a known KEM \(supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3\)/ },
    { name: 'defined but unimplemented algorithm', request: () => withKems([{ algorithm_name: 'Kyber1024', key_data: mlkemKey() }]), status: /does not offer this request/, mentions: /"Kyber1024" is defined by the protocol but not implemented by pqpsk \(supported: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3\)/ },
    {
      name: 'duplicate algorithms',
      request: () => withKems([{ algorithm_name: 'ML-KEM-1024', key_data: mlkemKey() }, { algorithm_name: 'ML-KEM-1024', key_data: mlkemKey() }]),
      status: /rejected the request/,
      mentions: /repeats/,
    },
    {
      name: 'Kyber1024 beside ML-KEM-1024',
      request: () => withKems([{ algorithm_name: 'Kyber1024', key_data: mlkemKey() }, { algorithm_name: 'ML-KEM-1024', key_data: mlkemKey() }]),
      status: /rejected the request/,
    },
    { name: 'empty algorithm list', request: () => withKems([]), status: /rejected the request/, mentions: /post_quantum\.kem_pubkeys: expected at least one/ },
    { name: 'missing post_quantum', request: () => ({ ...base, post_quantum: null }), status: /rejected the request/, mentions: /post_quantum: missing/ },
    { name: 'KEM key one byte short', request: () => withKems([{ algorithm_name: 'ML-KEM-1024', key_data: mlkemKey().subarray(1) }]), status: /rejected the request/, mentions: /ML-KEM-1024 public key: expected 1568 bytes, got 1567/ },
    { name: 'HQC-256 key of ML-KEM size', request: () => withKems([{ algorithm_name: 'HQC-256', key_data: mlkemKey() }]), status: /rejected the request/, mentions: /HQC-256 public key: expected 7245 bytes, got 1568/ },
    { name: 'DAITA v1', request: () => ({ ...base, daita: { activate_daita: true } }), status: /does not offer this request/, mentions: /DAITA is not supported by this relay/ },
    { name: 'DAITA v2', request: () => ({ ...base, daita_v2: { version: 2, platform: 'linux_wg_go', level: 'level_default' } }), status: /does not offer this request/, mentions: /DAITA is not supported by this relay/ },
    { name: 'ephemeral key already a peer', request: () => ({ ...base, wg_ephemeral_peer_pubkey: world.Q.raw }), status: /rejected the request/, mentions: /already a peer/ },
    { name: "ephemeral key is the relay's own", request: () => ({ ...base, wg_ephemeral_peer_pubkey: world.relayKey.raw }), status: /rejected the request/, mentions: /own key/ },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.status.source}, no wg change`, async () => {
      const peersBefore = await peerTable(world.wg);
      const setsBefore = setCount(world.wg);
      const err = await rejection(callRegisterPeer(server.address, c.request(), { deadline: soon() }));
      assert.match(err.message, c.status);
      if (c.mentions) assert.match(err.message, c.mentions);
      assert.equal(setCount(world.wg), setsBefore, 'no wg set');
      assert.deepEqual(await peerTable(world.wg), peersBefore);
    });
  }

  test('a peer claiming another peer\'s key, or an unknown key → PERMISSION_DENIED with one fixed message, no change', async () => {
    const setsBefore = setCount(world.wg);
    const peersBefore = await peerTable(world.wg);
    const messages: string[] = [];
    for (const claimed of [world.Q.raw, wgKeypair().raw]) {
      const err = await rejection(callRegisterPeer(server.address, { ...base, wg_parent_pubkey: claimed }, { deadline: soon() }));
      assert.equal(err.code, 'PERMISSION_DENIED');
      messages.push(err.message);
    }
    assert.equal(messages[0], messages[1], 'unknown and wrong parents look alike');
    assert.ok(messages[0]!.includes(PERMISSION_DENIED_DETAILS));
    assert.equal(setCount(world.wg), setsBefore);
    assert.deepEqual(await peerTable(world.wg), peersBefore);
  });

  test('an oversize message is refused with RESOURCE_EXHAUSTED before the relay sees it', async () => {
    const setsBefore = setCount(world.wg);
    const huge = withKems([{ algorithm_name: 'ML-KEM-1024', key_data: new Uint8Array(MAX_REQUEST_BYTES + 1) }]);
    const err = await rejection(callRegisterPeer(server.address, huge, { deadline: soon() }));
    assert.equal(err.code, 'RESOURCE_EXHAUSTED');
    assert.equal(setCount(world.wg), setsBefore);
  });

  test('garbage bytes on the port do not disturb the service', async () => {
    const setsBefore = setCount(world.wg);
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\x13garbage'.repeat(50), 'latin1'));
        socket.write(Buffer.alloc(4096, 0xa5));
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.setTimeout(300, () => socket.destroy());
    });
    assert.equal(setCount(world.wg), setsBefore);
  });

  test('after all of that, a valid request (ML-KEM-1024 + HQC-256) succeeds and the relay holds the PSK the client derived', async () => {
    const client = await clientRequest(world.P.raw, ['ML-KEM-1024', 'HQC-256']);
    const response = await callRegisterPeer(server.address, client.request, { deadline: soon() });
    const psk = await client.derive(asWireResponse(response));
    const relayPsk = world.wg.presharedKeyOf(IFACE, client.ephemeral.publicKey);
    try {
      assert.ok(relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk)), 'same PSK on both sides');
    } finally {
      psk.fill(0);
      relayPsk?.fill(0);
    }
    const table = await peerTable(world.wg);
    assert.deepEqual(table[client.ephemeral.publicKey], { allowedIps: [], psk: true }, 'pending: no allowed-ips yet');
    assert.deepEqual(table[world.P.publicKey]?.allowedIps, ['127.0.0.1/32', '10.64.0.2/32']);
  });

  test('the registration log names every rejection by its result, with key tags and per-algorithm timings', () => {
    const lines = world.logger.of('registration');
    const results = new Set(lines.map((l) => l['result']));
    for (const r of ['invalid_argument', 'unimplemented', 'permission_denied', 'ok']) assert.ok(results.has(r), `a ${r} line`);
    const ok = lines.find((l) => l['result'] === 'ok')!;
    assert.deepEqual(ok['algorithms'], ['ML-KEM-1024', 'HQC-256']);
    assert.deepEqual(Object.keys(ok['encaps_ms'] as object), ['ML-KEM-1024', 'HQC-256']);
    assert.equal(typeof ok['parent'], 'string');
    assert.equal((ok['parent'] as string).length, 8, 'a tag, not the key');
    assert.equal(world.relay.metrics.registrations('ok'), 1);
    assert.equal(world.relay.metrics.registrations('permission_denied'), 2);
  });
});
