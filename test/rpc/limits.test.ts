/**
 * HTTP/2 limits of the relay's gRPC listener: what one remote party can hold open.
 * Each would be unbounded without the limits (grpc-js's defaults): the advertised
 * stream cap, a per-source connection cap, and closing a connection that carries no call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { startRpcServer, type RegisterHandler, type RpcServer } from '../../src/rpc/server.js';

const never: RegisterHandler = () => new Promise(() => undefined);

async function withServer(limits: Record<string, number>, body: (server: RpcServer) => Promise<void>): Promise<void> {
  const server = await startRpcServer('127.0.0.1:0', never, { maxRequestBytes: 16 * 1024, limits });
  try {
    await body(server);
  } finally {
    server.forceShutdown();
  }
}

/** Resolves true if `emitter` emits `event` within `ms`, false otherwise. */
function within(emitter: NodeJS.EventEmitter, event: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('the listener advertises a small cap on concurrent streams per connection', async () => {
  await withServer({ maxStreamsPerConnection: 4 }, async (server) => {
    const session = http2.connect(`http://${server.address}`);
    session.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
      assert.equal(session.remoteSettings.maxConcurrentStreams, 4);
      // Header-only streams beyond the cap are never open on the server at once.
      const streams = Array.from({ length: 40 }, () => {
        const s = session.request({ ':method': 'POST', ':path': '/ephemeralpeer.EphemeralPeer/RegisterPeerV1', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
        s.on('error', () => undefined);
        return s;
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(server.stats().connections === 1);
      for (const s of streams) s.close();
    } finally {
      session.destroy();
    }
  });
});

test('one source address holds at most maxConnectionsPerSource connections; the rest are closed at once', async () => {
  await withServer({ maxConnectionsPerSource: 2 }, async (server) => {
    const sockets = Array.from({ length: 4 }, () => {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      return s;
    });
    try {
      const closed = await Promise.all(sockets.map((s) => within(s, 'close', 1500)));
      assert.deepEqual(closed.filter(Boolean).length, 2, 'two over the cap are closed');
      assert.equal(server.stats().connections, 2);
      assert.equal(server.stats().refusedConnections.perSource, 2);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

test('a connection that carries no call is closed after the idle time', async () => {
  await withServer({ idleMs: 150 }, async (server) => {
    const session = http2.connect(`http://${server.address}`);
    session.on('error', () => undefined);
    try {
      assert.equal(await within(session, 'close', 4000), true, 'the relay closed the idle connection');
    } finally {
      session.destroy();
    }
  });
});

test('a socket that never speaks HTTP/2 is closed too', async () => {
  await withServer({ idleMs: 100 }, async (server) => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      assert.equal(await within(socket, 'close', 4000), true);
    } finally {
      socket.destroy();
    }
  });
});
