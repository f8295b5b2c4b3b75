/**
 * Requests that stop arriving: a client that declares a large message (a Classic McEliece
 * request is about 533 KB) and holds back its last byte must not keep the relay's memory
 * or its own address's connection slots — the relay closes such connections, a complete
 * request from the same address gets through meanwhile, and a slow but steady large
 * request still succeeds. Limits are scaled down so the test takes seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import { buildRegisterRequest } from '../../src/protocol/request.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { REGISTER_PEER_PATH } from '../../src/rpc/proto.js';
import { DEFAULT_CONNECTION_LIMITS, startRpcServer, type RegisterHandler, type RpcServer, type RpcServerOptions } from '../../src/rpc/server.js';
import { ProcessMetrics } from '../../src/server/process-metrics.js';

/** The declared size of each stalled message: a Classic McEliece request. */
const DECLARED = 533_000;
const answer: RegisterHandler = async () => ({ post_quantum: { ciphertexts: [new Uint8Array(1568)] } });

interface Closed {
  readonly source: string;
  readonly reason: string;
}

async function withServer(limits: Record<string, number>, body: (server: RpcServer, closes: Closed[]) => Promise<void>): Promise<void> {
  const closes: Closed[] = [];
  // Typed loosely so the same test builds against a listener without the stall options.
  const options: Record<string, unknown> = { maxRequestBytes: 540_000, limits, onStalledClose: (c: Closed) => closes.push(c) };
  const server = await startRpcServer('127.0.0.1:0', answer, options as unknown as RpcServerOptions);
  try {
    await body(server, closes);
  } finally {
    server.forceShutdown();
  }
}

function grpcHeaders(): http2.OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': REGISTER_PEER_PATH, 'content-type': 'application/grpc', te: 'trailers' };
}

/** The 5-byte gRPC prefix declaring an uncompressed message of `length` bytes. */
function prefix(length: number): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(length, 1);
  return p;
}

interface Stall {
  readonly session: http2.ClientHttp2Session;
  readonly openedAt: number;
  /** Resolves with the time the relay closed the connection. */
  readonly closed: Promise<number>;
}

/** One connection with `streams` streams, each declaring DECLARED bytes and sending all but the last. */
function stallConnection(port: number, streams: number): Stall {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now())));
  for (let i = 0; i < streams; i++) {
    const stream = session.request(grpcHeaders(), { endStream: false });
    stream.on('error', () => undefined);
    stream.write(prefix(DECLARED));
    stream.write(Buffer.alloc(DECLARED - 1));
  }
  return { session, openedAt: Date.now(), closed };
}

/** gRPC status of one raw call sending `length` bytes in `chunks` pieces, one every `everyMs`. */
function slowCall(port: number, length: number, chunks: number, everyMs: number): Promise<string | undefined> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return new Promise<string | undefined>((resolve) => {
    const stream = session.request(grpcHeaders(), { endStream: false });
    let status: string | undefined;
    const note = (headers: http2.IncomingHttpHeaders): void => {
      const s = headers['grpc-status'];
      if (typeof s === 'string') status = s;
    };
    stream.on('response', note);
    stream.on('trailers', note);
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('close', () => {
      session.destroy();
      resolve(status);
    });
    const body = Buffer.concat([prefix(length), Buffer.alloc(length)]);
    const piece = Math.ceil(body.length / chunks);
    let sent = 0;
    const timer = setInterval(() => {
      if (stream.destroyed) return clearInterval(timer);
      const next = body.subarray(sent, sent + piece);
      sent += next.length;
      if (sent >= body.length) {
        clearInterval(timer);
        stream.end(next);
      } else stream.write(next);
    }, everyMs);
  });
}

function stalledTotal(server: RpcServer): number {
  const text = new ProcessMetrics(() => server.stats()).render();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^pqpsk_rpc_stalled_connections_total\{reason="[a-z_]+"\} (\d+)$/.exec(line);
    if (m !== null) sum += Number(m[1]);
  }
  return sum;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('stalled large messages are closed, a complete call from the same address succeeds meanwhile, and the stalls are counted', async (t) => {
  const deadlineMs = 3000;
  const limits = { maxConnectionsPerSource: 4, messageDeadlineMs: deadlineMs, stallWindowMs: 400, minBytesPerSecond: 1024, maxPartialBytesPerSource: 2 * 535_000 };
  await withServer(limits, async (server, closes) => {
    // The attacker keeps four connections of eight stalled streams each open, reopening
    // each one the relay closes, for the whole test.
    const stalls: Stall[] = [];
    let attacking = true;
    const keep = (): void => {
      if (!attacking) return;
      const stall = stallConnection(server.port, 8);
      stalls.push(stall);
      void stall.closed.then(() => setTimeout(keep, 20));
    };
    for (let i = 0; i < 4; i++) keep();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.stats().partialRequestBytes ?? 0);
    }, 50);
    try {
      await sleep(600);
      const request = buildRegisterRequest(randomBytes(32), randomBytes(32), [{ name: 'ML-KEM-1024', publicKey: randomBytes(1568) }]);
      const started = Date.now();
      // The published client's first attempt: 8 s.
      const response = await callRegisterPeer(server.address, request, { deadline: started + 8000 });
      const latency = Date.now() - started;
      assert.equal(response.post_quantum?.ciphertexts?.length, 1, 'the legitimate call was answered');
      await sleep(deadlineMs + 1500);
      attacking = false;
      const first = stalls.slice(0, 4);
      const lifetimes = await Promise.all(
        first.map(async (s) => {
          const at = await Promise.race([s.closed, sleep(2000).then(() => Infinity)]);
          return at - s.openedAt;
        }),
      );
      for (const ms of lifetimes) assert.ok(ms <= deadlineMs + 1000, `a stalled connection lived ${ms} ms, past the ${deadlineMs} ms deadline`);
      assert.ok(stalledTotal(server) >= 4, `stalls counted in /metrics: ${stalledTotal(server)}`);
      assert.ok(closes.length >= 4 && closes.every((c) => c.source === '127.0.0.1'), 'each close is reported with its source');
      t.diagnostic(`legit call ${latency} ms; stalled connections opened ${stalls.length}, first four closed after ${lifetimes.join(', ')} ms`);
      t.diagnostic(`peak partly received bytes ${peak}; closes by reason ${JSON.stringify(server.stats().stalledConnections)}`);
    } finally {
      attacking = false;
      clearInterval(sampler);
      for (const s of stalls) s.session.destroy();
    }
  });
});

test('a stalled message with no other pressure is closed once its deadline passes', async () => {
  const deadlineMs = 1000;
  await withServer({ messageDeadlineMs: deadlineMs, stallWindowMs: 200 }, async (server, closes) => {
    const stall = stallConnection(server.port, 1);
    try {
      const at = await Promise.race([stall.closed, sleep(deadlineMs + 3000).then(() => Infinity)]);
      const lived = at - stall.openedAt;
      assert.ok(lived >= deadlineMs && lived <= deadlineMs + 1000, `closed after ${lived} ms (deadline ${deadlineMs} ms)`);
      assert.deepEqual(closes.map((c) => c.reason), ['deadline']);
      assert.equal(server.stats().partialRequestBytes, 0, 'nothing held once it is closed');
    } finally {
      stall.session.destroy();
    }
  });
});

test('a slow but steady large request succeeds while stalled ones from the same address are closed', async () => {
  // 533 KB at about 200 KB/s, twice the minimum rate, over some 2.7 s: several stall
  // windows, under a deadline it meets, with the address over its byte budget.
  const limits = { messageDeadlineMs: 6000, stallWindowMs: 400, minBytesPerSecond: 100_000, maxPartialBytesPerSource: 535_000 };
  await withServer(limits, async (server, closes) => {
    const stalls = [stallConnection(server.port, 1), stallConnection(server.port, 1)];
    try {
      const status = await slowCall(server.port, DECLARED, 54, 50);
      assert.equal(status, '0', 'the slow request was answered OK');
      assert.ok(closes.length >= 1, 'a stalled connection was closed for the budget');
      assert.ok(closes.every((c) => c.reason !== 'deadline'));
    } finally {
      for (const s of stalls) s.session.destroy();
    }
  });
});

test('the default limits let the largest request through a 64 kbit/s link and catch a stalled one within a first attempt', () => {
  const limits = DEFAULT_CONNECTION_LIMITS;
  const atPoorLinkMs = (DECLARED * 8 * 1000) / 64_000;
  assert.ok(atPoorLinkMs < limits.messageDeadlineMs, `${atPoorLinkMs} ms at 64 kbit/s must fit the ${limits.messageDeadlineMs} ms deadline`);
  assert.ok(limits.minBytesPerSecond * 8 <= 64_000 / 4, 'a 64 kbit/s link is far above the stalled rate');
  assert.ok(limits.stallWindowMs + 1000 < 8000, 'a stall is found inside the first 8 s attempt');
  assert.ok(limits.maxStreamsPerConnection <= 2, 'one negotiation needs one stream');
});
