import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { PqpskError } from '../../src/errors.js';
import { callRegisterPeer, channelTarget } from '../../src/rpc/client.js';
import { peerIp, startRpcServer, type RegisterHandler } from '../../src/rpc/server.js';
import { PERMISSION_DENIED_DETAILS, ServiceCallError } from '../../src/rpc/status.js';
import { rejection } from '../fixtures/errors.js';

const request = { wg_parent_pubkey: Buffer.alloc(32, 1), wg_ephemeral_peer_pubkey: Buffer.alloc(32, 2) };
const soon = (): number => Date.now() + 5000;

async function withServer(handler: RegisterHandler, body: (target: string) => Promise<void>, maxRequestBytes = 16 * 1024): Promise<void> {
  const server = await startRpcServer('127.0.0.1:0', handler, { maxRequestBytes });
  try {
    await body(server.address);
  } finally {
    server.forceShutdown();
  }
}


test('peerIp strips ports and v4-mapped prefixes', () => {
  assert.equal(peerIp('10.64.0.2:51820'), '10.64.0.2');
  assert.equal(peerIp('::ffff:10.64.0.2:40000'), '10.64.0.2');
  assert.equal(peerIp('fc00:bbbb::2:40000'), 'fc00:bbbb::2');
  assert.equal(peerIp('[fc00:bbbb::2]:40000'), 'fc00:bbbb::2');
});

test('a call reaches the handler with the caller address and returns its answer', async () => {
  let seenAddress = '';
  await withServer(
    async (req, ctx) => {
      seenAddress = ctx.peerAddress;
      assert.ok(!('undecodable' in req));
      assert.deepEqual(req.wg_parent_pubkey, request.wg_parent_pubkey);
      return { post_quantum: { ciphertexts: [Buffer.from('first'), Buffer.from('second')] } };
    },
    async (target) => {
      const response = await callRegisterPeer(target, request, { deadline: soon() });
      assert.deepEqual(response.post_quantum?.ciphertexts.map((c) => c.toString()), ['first', 'second']);
    },
  );
  assert.equal(seenAddress, '127.0.0.1');
});

test('validation errors reach the client as INVALID_ARGUMENT with their labelled message', async () => {
  await withServer(
    async () => {
      throw new PqpskError('INVALID_INPUT', 'wg_parent_pubkey: expected 32 bytes, got 3');
    },
    async (target) => {
      const err = await rejection(callRegisterPeer(target, request, { deadline: soon() }));
      assert.equal(err.code, 'RPC_FAILURE');
      assert.equal(err.message, `relay at ${target} rejected the request: wg_parent_pubkey: expected 32 bytes, got 3`);
    },
  );
});

test('an unexpected handler error never sends its message to the client', async () => {
  const logged: unknown[] = [];
  const server = await startRpcServer(
    '127.0.0.1:0',
    async () => {
      throw new Error('wg show dump said PRIVATEKEYBYTES');
    },
    { maxRequestBytes: 16 * 1024, onHandlerError: (err) => logged.push(err) },
  );
  try {
    const err = await rejection(callRegisterPeer(server.address, request, { deadline: soon() }));
    assert.equal(err.message, `relay at ${server.address} failed to serve the request: internal error while registering the ephemeral peer`);
    assert.doesNotMatch(err.message, /PRIVATEKEYBYTES/);
    assert.equal(logged.length, 1, 'the relay still sees the full error for its own log');
  } finally {
    server.forceShutdown();
  }
});

test('permission errors carry one fixed message', async () => {
  await withServer(
    async () => {
      throw new PqpskError('PERMISSION_DENIED', 'parent 5xY… is not the peer of 10.64.0.9');
    },
    async (target) => {
      const err = await rejection(callRegisterPeer(target, request, { deadline: soon() }));
      assert.equal(err.code, 'PERMISSION_DENIED');
      assert.equal(err.message, `relay at ${target} refused the request: ${PERMISSION_DENIED_DETAILS}`);
    },
  );
});

test('an oversize request is refused with RESOURCE_EXHAUSTED before the handler runs', async () => {
  let called = false;
  await withServer(
    async () => {
      called = true;
      return {};
    },
    async (target) => {
      const big = { ...request, post_quantum: { kem_pubkeys: [{ algorithm_name: 'HQC-256', key_data: Buffer.alloc(20_000) }] } };
      const err = await rejection(callRegisterPeer(target, big, { deadline: soon() }));
      assert.equal(err.code, 'RESOURCE_EXHAUSTED');
    },
    10 * 1024,
  );
  assert.equal(called, false);
});

test('a handler slower than the deadline gives the client TIMEOUT', async () => {
  await withServer(
    (_req, ctx) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve({}), 2000);
        ctx.signal.addEventListener('abort', () => clearTimeout(timer));
      }),
    async (target) => {
      const err = await rejection(callRegisterPeer(target, request, { deadline: Date.now() + 200 }));
      assert.equal(err.code, 'TIMEOUT');
    },
  );
});

/** Words of the gRPC library or status names that tell a user nothing they can act on. */
const INTERNALS = /LB pick|No connection established|Deadline exceeded|UNAVAILABLE|DEADLINE_EXCEEDED|PERMISSION_DENIED|INVALID_ARGUMENT|INTERNAL|relay answered/;

test('nothing listening: the call fails at once, naming the address and asking whether the relay runs there', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const started = Date.now();
  const err = await rejection(callRegisterPeer(`127.0.0.1:${port}`, request, { deadline: Date.now() + 20_000 }));
  assert.ok(Date.now() - started < 10_000, 'no wait for the deadline');
  assert.equal(err.code, 'RPC_FAILURE');
  assert.equal(err.message, `nothing listening on 127.0.0.1:${port} (connection refused) — is \`pqpsk server\` running there?`);
  assert.ok(err instanceof ServiceCallError && err.outcome === 'refused');
});

test('a listener that resets every connection reads as nothing listening too', async () => {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    const err = await rejection(callRegisterPeer(target, request, { deadline: Date.now() + 5000 }));
    assert.equal(err.message, `nothing listening on ${target} (connection reset) — is \`pqpsk server\` running there?`);
  } finally {
    server.close();
  }
});

test('a server that takes the TCP connection and never answers: "no answer at all", the address and whole milliseconds, no library words', async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    const err = await rejection(callRegisterPeer(target, request, { deadline: Date.now() + 600.4 }));
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, new RegExp(`^no answer at all from ${target.replace(/\./g, '\\.')} within \\d+ ms$`));
    assert.doesNotMatch(err.message, INTERNALS);
    assert.ok(err instanceof ServiceCallError && err.outcome === 'no-answer');
    assert.ok(sockets.length > 0, 'the TCP connection was taken');
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('what a relay answered is said in words, with its own text, and no status name', async () => {
  const cases: [PqpskError, RegExp][] = [
    [new PqpskError('INVALID_INPUT', 'kem list: expected 1 to 3 KEMs, got 0'), /^relay at \S+ rejected the request: kem list: expected 1 to 3 KEMs, got 0$/],
    [new PqpskError('RESOURCE_EXHAUSTED', 'too many requests for this parent; retry in 1s'), /^relay at \S+ is busy, try again later: too many requests for this parent; retry in 1s$/],
    [new PqpskError('SETUP', 'anything'), /^relay at \S+ failed to serve the request: the relay hit a fault of its own \(logged there\), not in the request; retry later$/],
    [new PqpskError('STOPPING', 'anything'), /^relay at \S+ is not available: relay is shutting down$/],
    [new PqpskError('STARTING', 'anything'), /^relay at \S+ is not available: relay is starting, retry in a few seconds$/],
    [new PqpskError('UNSUPPORTED_FEATURE', 'DAITA is not offered'), /^relay at \S+ does not offer this request \(is it a pqpsk or Mullvad config service\?\): DAITA is not offered$/],
  ];
  for (const [thrown, expected] of cases) {
    await withServer(
      async () => {
        throw thrown;
      },
      async (target) => {
        const err = await rejection(callRegisterPeer(target, request, { deadline: soon() }));
        assert.match(err.message, expected);
        assert.ok(err.message.includes(target), 'the address is named');
        assert.doesNotMatch(err.message, INTERNALS);
        assert.ok(err instanceof ServiceCallError && err.outcome === 'answered');
      },
    );
  }
});

test('binding an address in use is a SETUP error naming the address', async () => {
  const first = await startRpcServer('127.0.0.1:0', async () => ({}), { maxRequestBytes: 1024 });
  try {
    const err = await rejection(startRpcServer(first.address, async () => ({}), { maxRequestBytes: 1024 }));
    assert.equal(err.code, 'SETUP');
    assert.equal(err.message, `cannot listen on ${first.address}: address already in use: another process holds it, and clients that reach this address now talk to that process, not to pqpsk (ss -ltnp names it)`);
  } finally {
    first.forceShutdown();
  }
});

test('the client addresses the relay by its IP as given, with the same :authority a DNS target sends', async () => {
  assert.equal(channelTarget('10.64.0.1:1337'), 'ipv4:10.64.0.1:1337');
  assert.equal(channelTarget('[fc00:bbbb::1]:1337'), 'ipv6:[fc00:bbbb::1]:1337');
  assert.equal(channelTarget('relay.example:1337'), 'relay.example:1337');
  assert.equal(channelTarget('[not-an-address]:1337'), '[not-an-address]:1337');
  // What the relay sees on the wire: `:authority` is `ip:port`, for both families.
  for (const host of ['127.0.0.1', '::1']) {
    const authorities: string[] = [];
    const server = http2.createServer((req, res) => {
      authorities.push(String(req.headers[':authority']));
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.addTrailers({ 'grpc-status': '12', 'grpc-message': 'unimplemented here' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const port = (server.address() as net.AddressInfo).port;
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    try {
      await assert.rejects(callRegisterPeer(target, request, { deadline: soon() }), (err: unknown) => err instanceof PqpskError && err.code === 'RPC_FAILURE');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    assert.deepEqual(authorities, [target]);
  }
});
