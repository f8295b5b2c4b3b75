/**
 * The relay against hostile clients and operator mistakes, one test per finding of the
 * security review; each of these failed on the relay before it was hardened.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { startMetricsServer } from '../../src/server/http.js';
import { join } from 'node:path';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { parseHostPort } from '../../src/server/listen.js';
import { startRelayService } from '../../src/server/service.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { MemoryLogger } from '../../src/server/log.js';
import { Relay } from '../../src/server/relay.js';
import { setCommand } from '../../src/wg/argv.js';
import { RealWgControl } from '../../src/wg/real.js';
import { rejection } from '../fixtures/errors.js';
import { FAKE_WG, fakeWgLog } from '../fixtures/recording-wg.js';
import { IFACE, P_IPS, Q_IPS, TestClock, asWire, clientRequest, makeWorld, peerTable, provider, registerDirect, wgKeypair } from './helpers.js';

const reads = (w: { wg: { operations: readonly { op: string }[] } }): number => w.wg.operations.filter((o) => o.op !== 'set').length;

describe('flood before authentication', () => {
  test('a refused request reads nothing from wg; a source that spent its refusal budget is turned away unread', async () => {
    const w = await makeWorld({ refusalBudget: { burst: 5, perSecond: 0.5 } });
    const impostor = asWire((await clientRequest(w.P.raw)).request); // claims P from Q's tunnel
    const before = reads(w);
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) codes.push((await rejection(w.relay.register(impostor, { peerAddress: '10.64.0.3' }))).code);
    // 30 refusals within one second: at most one fresh read of the interface among them all.
    assert.ok(reads(w) - before <= 1, `refused requests are judged on the cached view (${reads(w) - before} reads)`);
    assert.deepEqual(codes.slice(0, 5), Array(5).fill('PERMISSION_DENIED'));
    assert.deepEqual(new Set(codes.slice(5)), new Set(['RESOURCE_EXHAUSTED']), 'after the budget, refused unread');
    assert.equal(w.relay.metrics.refusals('source_budget'), 25);
    // The legitimate client in another tunnel is unaffected.
    const ok = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    ok.psk.fill(0);
  });
});

describe('pre-registering someone else\'s key', () => {
  test('an operator-added peer that was registered as an ephemeral is never removed nor given addresses', async () => {
    const w = await makeWorld();
    // The attacker (P) registers V, the key of a device the operator will add later.
    const V = wgKeypair();
    const client = await clientRequest(w.P.raw);
    const request = asWire({ ...client.request, wg_ephemeral_peer_pubkey: V.raw });
    await w.relay.register(request, { peerAddress: '10.64.0.2' });
    // The operator adds V with its own address; V's device handshakes.
    await w.wg.set(IFACE, { peers: [{ publicKey: V.publicKey, allowedIps: ['10.64.0.9/32'] }] });
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, V.publicKey, w.clock.seconds);
    const events = await w.relay.tick();
    assert.deepEqual(events.map((e) => e.kind), ['released']);
    w.clock.advance(200_000);
    await w.relay.tick();
    const table = await peerTable(w.wg);
    assert.deepEqual(table[V.publicKey]?.allowedIps, ['10.64.0.9/32'], 'V keeps exactly what the operator gave it');
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS, 'P\'s addresses never moved to V');
    assert.deepEqual(w.relay.book.ephemerals, []);
    assert.equal(w.logger.records.filter((r) => r.level === 'warn' && r.record['kind'] === 'released').length, 1);
  });
});

describe('operator allowed-ips changes are authoritative', () => {
  test('an address added to the parent travels with the family; one given to another peer is never taken back', async () => {
    const w = await makeWorld();
    const e = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    e.psk.fill(0);
    // The operator adds an address to P before the client switches.
    await w.wg.set(IFACE, { peers: [{ publicKey: w.P.publicKey, allowedIps: [...P_IPS, '10.64.0.77/32'] }] });
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e.ephemeral.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((x) => x.kind), ['swap']);
    assert.deepEqual([...((await peerTable(w.wg))[e.ephemeral.publicKey]?.allowedIps ?? [])].sort(), [...P_IPS, '10.64.0.77/32'].sort());
    // While E is live, the operator gives 10.64.0.2/32 to Q.
    await w.wg.set(IFACE, { peers: [{ publicKey: w.Q.publicKey, allowedIps: [...Q_IPS, '10.64.0.2/32'] }] });
    w.clock.advance(3000);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((x) => x.kind), ['swap-back']);
    const table = await peerTable(w.wg);
    assert.deepEqual([...(table[w.Q.publicKey]?.allowedIps ?? [])].sort(), [...Q_IPS, '10.64.0.2/32'].sort(), 'Q keeps what the operator gave it');
    assert.deepEqual([...(table[w.P.publicKey]?.allowedIps ?? [])].sort(), ['10.64.0.77/32', '127.0.0.1/32'], 'P keeps the address the operator added');
  });
});

describe('reachable from outside the tunnel', () => {
  test('a peer with wider than host routes is no parent unless the operator opts in', async () => {
    for (const allowWideParents of [false, true]) {
      const w = await makeWorld({ allowWideParents });
      await w.wg.set(IFACE, { peers: [{ publicKey: w.Q.publicKey, allowedIps: ['0.0.0.0/0'] }] });
      await w.relay.tick();
      // Any source routed by 0.0.0.0/0 (a LAN host, a local process) would authenticate as Q.
      const attempt = registerDirect(w.relay, w.Q.raw, '192.0.2.50');
      if (allowWideParents) (await attempt).psk.fill(0);
      else assert.equal((await rejection(attempt)).code, 'PERMISSION_DENIED');
    }
  });
});

describe('no secret read into the relay', () => {
  const log = fakeWgLog('pqpsk-relay-reads');

  test('every wg command the relay runs prints no private key and no PSK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqpsk-relay-state-'));
    const stateFile = join(dir, 'state.json');
    const relayKey = wgKeypair();
    const P = wgKeypair();
    writeFileSync(
      stateFile,
      JSON.stringify({
        publicKey: relayKey.publicKey,
        privateKey: Buffer.from(relayKey.privateKey).toString('base64'),
        peers: [{ publicKey: P.publicKey, psk: Buffer.alloc(32, 7).toString('base64'), allowedIps: P_IPS, latestHandshake: 1_700_000_000 }],
      }),
    );
    process.env['FAKE_WG_STATE'] = stateFile;
    // FIFOs go to the configured runtime directory (per run here), never a shared /tmp.
    const runtime = join(dir, 'run');
    process.env['PQPSK_RUNTIME_DIR'] = runtime;
    const clock = new TestClock();
    try {
      const relay = await Relay.open({
        iface: IFACE,
        wg: new RealWgControl({ wgPath: FAKE_WG }),
        store: new MemoryBookStore(),
        kems: provider,
        logger: new MemoryLogger(),
        clock: clock.now,
        rateLimit: null,
      });
      const first = await registerDirect(relay, P.raw, '10.64.0.2');
      const second = await registerDirect(relay, P.raw, '10.64.0.2');
      clock.advance(5000);
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { peers: { publicKey: string; latestHandshake: number }[] };
      state.peers.find((p) => p.publicKey === second.ephemeral.publicKey)!.latestHandshake = clock.seconds;
      writeFileSync(stateFile, JSON.stringify(state));
      assert.deepEqual((await relay.tick()).map((e) => e.kind), ['swap']);
      await relay.close();
      first.psk.fill(0);
      second.psk.fill(0);
    } finally {
      delete process.env['FAKE_WG_STATE'];
      delete process.env['PQPSK_RUNTIME_DIR'];
    }
    const runs = log.runs();
    const fifos = runs.flatMap((r) => r.secretPaths);
    assert.ok(fifos.length >= 2);
    for (const f of fifos) {
      assert.ok((f as { path?: string }).path?.startsWith(`${runtime}/pqpsk-`), 'a FIFO in this process\'s directory under the runtime base');
      assert.equal(f.isFifo, true);
    }
    rmSync(dir, { recursive: true, force: true });
    const shows = runs.filter((r) => r.argv[0] === 'show').map((r) => r.argv.slice(2).join(' '));
    assert.ok(shows.length > 0);
    for (const what of shows) assert.ok(['public-key', 'allowed-ips', 'latest-handshakes'].includes(what), `the relay ran \`wg show ${IFACE} ${what}\``);
    for (const run of runs) assert.ok(run.argv[0] === 'show' || run.argv[0] === 'set', `unexpected wg ${run.argv.join(' ')}`);
  });
});

describe('the book', () => {
  test('a damaged or symlinked book never stops the relay; the previous version keeps live ephemerals revocable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqpsk-book-hardening-'));
    try {
      const w = await makeWorld();
      const open = (store: FileBookStore, logger = new MemoryLogger()) =>
        Relay.open({ iface: IFACE, wg: w.wg, store, kems: provider, logger, clock: w.clock.now, rateLimit: null });
      const first = await open(new FileBookStore(dir, IFACE));
      const e = await registerDirect(first, w.P.raw, '10.64.0.2');
      e.psk.fill(0);
      w.clock.advance(1000);
      w.wg.setLatestHandshake(IFACE, e.ephemeral.publicKey, w.clock.seconds);
      assert.deepEqual((await first.tick()).map((x) => x.kind), ['swap']);
      // The relay crashes (a clean close() would give everything back and empty the book).

      // The book is damaged, then replaced by a symlink to a crafted one: neither is trusted.
      const location = new FileBookStore(dir, IFACE).location;
      for (const damage of ['garbage', 'symlink']) {
        rmSync(location, { force: true });
        if (damage === 'garbage') writeFileSync(location, '{"format":', { mode: 0o600 });
        else {
          writeFileSync(join(dir, 'crafted.json'), JSON.stringify({ format: 'pqpsk-relay-book', version: 1, parents: [], ephemerals: [] }), { mode: 0o600 });
          symlinkSync(join(dir, 'crafted.json'), location);
        }
        const logger = new MemoryLogger();
        const relay = await open(new FileBookStore(dir, IFACE), logger);
        assert.ok(logger.of('book-damaged').length >= 1, `${damage}: logged loudly`);
        assert.deepEqual(relay.book.ephemerals.map((x) => x.ephemeral), [e.ephemeral.publicKey], `${damage}: the live ephemeral is still known`);
        // Crashes again, keeping its book.
      }

      // Revoking the device still takes its ephemeral away.
      const relay = await open(new FileBookStore(dir, IFACE));
      await w.wg.set(IFACE, { peers: [{ publicKey: w.P.publicKey, remove: true }] });
      assert.deepEqual((await relay.tick()).map((x) => x.kind), ['parent-gone']);
      assert.equal((await peerTable(w.wg))[e.ephemeral.publicKey], undefined);
      await relay.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a state directory writable by others is refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqpsk-book-loose-'));
    try {
      chmodSync(dir, 0o777);
      const w = await makeWorld();
      const err = await rejection(Relay.open({ iface: IFACE, wg: w.wg, store: new FileBookStore(dir, IFACE), kems: provider, clock: w.clock.now }));
      assert.equal(err.code, 'SETUP');
      assert.match(err.message, /writable by group or others/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('smaller findings', () => {
  test('a call arriving before the relay is open waits a bounded time, then is refused as starting, not queued', async () => {
    const w = await makeWorld();
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const bound = probe.address();
        probe.close(() => resolve(typeof bound === 'object' && bound !== null ? bound.port : 0));
      });
    });
    // The interface read hangs: the relay cannot open until it is released.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // (`show` too, for relays that read the full dump.)
    const slow = { show: async (i: string) => (await gate, w.wg.show(i)), publicKey: async (i: string) => (await gate, w.wg.publicKey(i)), peerRoutes: (i: string) => w.wg.peerRoutes(i), latestHandshakes: (i: string) => w.wg.latestHandshakes(i), set: w.wg.set.bind(w.wg) };
    const starting = startRelayService({ iface: IFACE, listen: parseHostPort('listen', `127.0.0.1:${port}`), wg: slow, store: new MemoryBookStore(), kems: provider, rateLimit: null, openingWaitMs: 1000 });
    try {
      const request = (await clientRequest(w.P.raw)).request;
      const started = Date.now();
      const err = await rejection(callRegisterPeer(`127.0.0.1:${port}`, request, { deadline: Date.now() + 5000 }));
      assert.match(err.message, /^relay at \S+ is not available: relay is starting, retry in a few seconds$/);
      assert.ok(Date.now() - started < 4000, 'answered before the deadline');
    } finally {
      release();
      await (await starting).stop();
    }
  });

  test('a bad ML-KEM-1024 key is refused before any HQC-256 encapsulation is spent', async () => {
    let hqcCalls = 0;
    const counting = (name: Parameters<typeof provider>[0]) => {
      const kem = provider(name);
      if (name !== 'HQC-256') return kem;
      return { ...kem, encapsulate: (key: Uint8Array) => (hqcCalls++, kem.encapsulate(key)) };
    };
    const w = await makeWorld({ kems: counting });
    const client = await clientRequest(w.P.raw, ['HQC-256', 'ML-KEM-1024']);
    const kems = client.request.post_quantum!.kem_pubkeys.map((k) =>
      k.algorithm_name === 'ML-KEM-1024' ? { ...k, key_data: new Uint8Array(1568).fill(255) } : k,
    );
    const err = await rejection(w.relay.register(asWire({ ...client.request, post_quantum: { kem_pubkeys: kems } }), { peerAddress: '10.64.0.2' }));
    assert.equal(err.code, 'INVALID_INPUT');
    assert.match(err.message, /ML-KEM-1024 public key/);
    assert.equal(hqcCalls, 0);
  });

  test('an all-zero PSK never reaches wg (WireGuard reads it as no key at all)', () => {
    assert.throws(() => setCommand('wg0', { peers: [{ publicKey: wgKeypair().publicKey, presharedKey: new Uint8Array(32) }] }, '/x'), {
      code: 'INVALID_INPUT',
      message: /peer 1 preshared key: all zero/,
    });
  });
});

describe('the metrics server', () => {
  test('a scraper that never finishes its headers is cut off when the timeout says, and connections are capped', async () => {
    const server = await startMetricsServer(parseHostPort('metrics', '127.0.0.1:0'), { metrics: () => '', healthy: () => true }, { headersTimeoutMs: 300, requestTimeoutMs: 600, maxConnections: 3 });
    const sockets: Socket[] = [];
    try {
      // Each socket with a promise of its close, watched from the moment it exists.
      const open = (): { socket: Socket; closed: Promise<number> } => {
        const socket = netConnect(server.port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.resume(); // read (and drop) what the server sends, so its close is seen
        sockets.push(socket);
        return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve(Date.now()))) };
      };
      const slow = open();
      const started = Date.now();
      slow.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
      assert.ok((await slow.closed) - started < 3000, 'cut off by the 300 ms headers timeout, not a 30 s sweep');
      const more = [open(), open(), open(), open(), open()];
      const closed = await Promise.all(more.map((m) => Promise.race([m.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 250))])));
      assert.equal(closed.filter(Boolean).length, 2, 'two over the cap of three are closed at once');
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});
