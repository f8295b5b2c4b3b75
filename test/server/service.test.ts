/**
 * The assembled service on 127.0.0.1: gRPC + /metrics + /healthz + the HQC-256 worker
 * pool, start-up failures, and the graceful stop SIGTERM triggers (stop accepting,
 * finish in-flight, persist).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import type { Kem, KemName } from '../../src/kem/types.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { MemoryLogger } from '../../src/server/log.js';
import { startRelayService, type RelayServiceConfig } from '../../src/server/service.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { IFACE, P_IPS, asWireResponse, clientRequest, deferred, eventually, provider, wgKeypair } from './helpers.js';

const LOOPBACK_ANY_PORT = parseHostPort('listen', '127.0.0.1:0');

async function fakeInterface(): Promise<{ wg: FakeWgControl; parent: ReturnType<typeof wgKeypair> }> {
  const wg = new FakeWgControl();
  wg.addInterface(IFACE, { privateKey: wgKeypair().privateKey });
  const parent = wgKeypair();
  await wg.set(IFACE, { peers: [{ publicKey: parent.publicKey, allowedIps: P_IPS }] });
  return { wg, parent };
}

function config(wg: FakeWgControl, extra: Partial<RelayServiceConfig> = {}): RelayServiceConfig {
  return {
    iface: IFACE,
    listen: LOOPBACK_ANY_PORT,
    metrics: LOOPBACK_ANY_PORT,
    wg,
    store: new MemoryBookStore(),
    logger: new MemoryLogger(),
    kems: provider,
    rateLimit: null,
    ...extra,
  };
}

function get(address: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(`http://${address}${path}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('relay service', () => {
  test('registers over gRPC with HQC-256 on the worker pool; /metrics and /healthz answer', async () => {
    const { wg, parent } = await fakeInterface();
    const { kems: _unused, ...withPool } = config(wg, { hqcWorkers: 1 });
    const service = await startRelayService(withPool);
    try {
      const client = await clientRequest(parent.raw, ['ML-KEM-1024', 'HQC-256']);
      const response = await callRegisterPeer(service.address, client.request, { deadline: Date.now() + 10_000 });
      const psk = await client.derive(asWireResponse(response));
      const relayPsk = wg.presharedKeyOf(IFACE, client.ephemeral.publicKey);
      assert.ok(relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk)), 'the pool-encapsulated PSK matches');
      psk.fill(0);
      relayPsk.fill(0);

      assert.ok(service.metricsAddress !== null);
      const health = await get(service.metricsAddress, '/healthz');
      assert.deepEqual(health, { status: 200, body: 'ok\n' });
      const metrics = await get(service.metricsAddress, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^pqpsk_registrations_total\{result="ok"\} 1$/m);
      assert.match(metrics.body, /^pqpsk_encapsulation_seconds_count\{algorithm="HQC-256"\} 1$/m);
      assert.match(metrics.body, /^pqpsk_ephemeral_peers\{state="pending"\} 1$/m);
      // The process figures an operator watches during an attack, under prom-client's names.
      for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_open_fds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'pqpsk_rpc_connections', 'pqpsk_rpc_calls_in_flight']) {
        assert.match(metrics.body, new RegExp(`^${name} \\d+(\\.\\d+)?(e[-+]\\d+)?$`, 'm'), name);
      }
      assert.match(metrics.body, /^# TYPE pqpsk_refused_requests_total counter$/m);
      assert.equal((await get(service.metricsAddress, '/other')).status, 404);
    } finally {
      await service.stop();
    }
  });

  test('graceful stop: /healthz turns 503, new calls are refused, the call in flight completes, then everything is given back', async () => {
    const { wg, parent } = await fakeInterface();
    const gate = deferred();
    let held = 0;
    const slow = (name: KemName): Kem => {
      const kem = provider(name);
      return { ...kem, encapsulate: async (pk) => (held++, await gate.promise, kem.encapsulate(pk)) };
    };
    const store = new MemoryBookStore();
    const service = await startRelayService(config(wg, { kems: slow, store }));
    const metricsAddress = service.metricsAddress!;
    const client = await clientRequest(parent.raw);
    const inflight = callRegisterPeer(service.address, client.request, { deadline: Date.now() + 10_000 });
    await eventually('the call is being served', () => held === 1);

    const stopped = service.stop();
    assert.equal((await get(metricsAddress, '/healthz')).status, 503);
    const late = await clientRequest(parent.raw);
    await assert.rejects(callRegisterPeer(service.address, late.request, { deadline: Date.now() + 3000 }), (err: unknown) => isPqpskError(err));

    gate.resolve();
    const response = await inflight;
    const psk = await client.derive(asWireResponse(response));
    psk.fill(0);
    await stopped;
    assert.deepEqual(store.current, { parents: [], ephemerals: [] }, 'the stored book is empty');
    const peers = (await wg.show(IFACE)).peers;
    assert.ok(!peers.some((p) => p.publicKey === client.ephemeral.publicKey), 'the ephemeral is removed');
    assert.ok(peers.some((p) => p.publicKey === parent.publicKey && p.allowedIps.length > 0), 'the parent holds its addresses');
    await assert.rejects(get(metricsAddress, '/healthz'), 'the metrics server is closed');
  });

  test('start-up failures are one clear error: missing interface (NOT_FOUND), address in use (SETUP) — before any peer is touched', async () => {
    const { wg, parent } = await fakeInterface();
    await assert.rejects(startRelayService(config(wg, { iface: 'nosuch0' })), { code: 'NOT_FOUND', message: /no such WireGuard interface nosuch0/ });
    const store = new MemoryBookStore();
    const first = await startRelayService(config(wg, { store }));
    try {
      const client = await clientRequest(parent.raw);
      await callRegisterPeer(first.address, client.request, { deadline: Date.now() + 10_000 });
      const port = Number(first.address.split(':').at(-1));
      // A second instance on the same address and state: it must fail before its recovery
      // pass, which would remove the first instance's pending ephemeral.
      await assert.rejects(startRelayService(config(wg, { store, listen: parseHostPort('listen', `127.0.0.1:${port}`) })), {
        code: 'SETUP',
        message: /address already in use/,
      });
      assert.ok((await wg.show(IFACE)).peers.some((p) => p.publicKey === client.ephemeral.publicKey), 'pending ephemeral untouched');
      const metricsPort = Number(first.metricsAddress!.split(':').at(-1));
      await assert.rejects(startRelayService(config(wg, { metrics: parseHostPort('metrics', `127.0.0.1:${metricsPort}`) })), {
        code: 'SETUP',
        message: /cannot serve metrics on 127\.0\.0\.1:\d+: address already in use/,
      });
      // The first one is unharmed.
      assert.equal((await get(first.metricsAddress!, '/healthz')).status, 200);
    } finally {
      await first.stop();
    }
  });
});
