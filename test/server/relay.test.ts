/**
 * The relay on the in-memory fake: registration, authentication through a live ephemeral,
 * made-before-broken, the watcher's swaps and expiries, write-ahead persistence, limits,
 * restart recovery. Requests come in-process (no gRPC) with a chosen source address.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PqpskError, isPqpskError } from '../../src/errors.js';
import type { Kem, KemName } from '../../src/kem/types.js';
import type { RelayBook } from '../../src/protocol/relay-book.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { MemoryLogger } from '../../src/server/log.js';
import { unionBook } from '../../src/server/book-keeper.js';
import { BATCH_READ_MAX_AGE_MS } from '../../src/server/registration-batch.js';
import {
  IFACE,
  P_IPS,
  Q_IPS,
  asWire,
  clientRequest,
  deferred,
  eventually,
  makeWorld,
  openRelay,
  peerTable,
  provider,
  registerDirect,
  secretForms,
  setCount,
  wgKeypair,
  type World,
} from './helpers.js';
import { inThreadKems } from '../fixtures/kems.js';

async function rejects(promise: Promise<unknown>, code: string): Promise<PqpskError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isPqpskError(err), `expected PqpskError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('registration', () => {
  test('one wg set adds the ephemeral with its PSK and no allowed-ips; the book is written ahead of it', async () => {
    const w = await makeWorld();
    const setsBefore = setCount(w.wg);
    const savesBefore = w.store.saved.length;
    const { ephemeral, psk } = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const relayPsk = w.wg.presharedKeyOf(IFACE, ephemeral.publicKey);
    assert.ok(relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk)));
    assert.equal(setCount(w.wg) - setsBefore, 1, 'exactly one wg set');
    const set = w.wg.operations.filter((o) => o.op === 'set').at(-1)!;
    assert.deepEqual(set.peers, [{ publicKey: ephemeral.publicKey, presharedKey: 'set' }], 'no allowed-ips, no removals');
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS, 'the parent keeps its addresses until the ephemeral handshakes');
    // Write-ahead: the book naming the new peer was saved before the set, and again after.
    const saves = w.store.saved.slice(savesBefore);
    assert.equal(saves.length, 2);
    assert.deepEqual(saves[0]!.ephemerals.map((e) => e.ephemeral), [ephemeral.publicKey]);
    assert.deepEqual(w.store.current.ephemerals.map((e) => [e.ephemeral, e.parent]), [[ephemeral.publicKey, w.P.publicKey]]);
    // The parent still holds its addresses: the relay has lent its ephemerals nothing yet.
    assert.deepEqual(w.store.current.parents, [{ parent: w.P.publicKey, allowedIps: [] }]);
    // No log line, and no stored book, holds the PSK in any form.
    const everything = JSON.stringify(w.logger.records) + JSON.stringify(w.store.saved);
    for (const form of secretForms(psk)) assert.ok(!everything.includes(form), 'no PSK in logs or the book');
    psk.fill(0);
    relayPsk.fill(0);
  });

  test('a newer registration replaces a pending one at once, in the same wg set', async () => {
    const w = await makeWorld();
    const first = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const second = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const set = w.wg.operations.filter((o) => o.op === 'set').at(-1)!;
    assert.deepEqual(set.peers, [
      { publicKey: second.ephemeral.publicKey, presharedKey: 'set' },
      { publicKey: first.ephemeral.publicKey, remove: true },
    ]);
    const table = await peerTable(w.wg);
    assert.equal(table[first.ephemeral.publicKey], undefined);
    assert.deepEqual(w.relay.book.ephemerals.map((e) => e.ephemeral), [second.ephemeral.publicKey]);
    assert.equal(w.relay.metrics.events('replaced'), 1);
  });

  test('wg set failing: the request fails, the interface is as before, and the write-ahead record goes at the next pass', async () => {
    const w = await makeWorld();
    const before = await peerTable(w.wg);
    w.wg.failNext('set');
    const client = await clientRequest(w.P.raw);
    await rejects(w.relay.register(asWire(client.request), { peerAddress: '10.64.0.2' }), 'WG_FAILURE');
    assert.deepEqual(await peerTable(w.wg), before);
    // A `wg set` may fail after applying (a timeout): the record stays until a pass sees the peer absent.
    assert.deepEqual(w.store.current.ephemerals.map((e) => e.ephemeral), [client.ephemeral.publicKey]);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['vanished']);
    assert.deepEqual(w.relay.book.ephemerals, []);
    assert.deepEqual(w.store.current.ephemerals, []);
    assert.equal(w.relay.metrics.registrations('internal'), 1);
    // The next request is fine.
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
  });

  test('the book cannot be written: no wg change at all', async () => {
    const w = await makeWorld();
    const sets = setCount(w.wg);
    w.store.failNextSaves(1);
    const client = await clientRequest(w.P.raw);
    const err = await rejects(w.relay.register(asWire(client.request), { peerAddress: '10.64.0.2' }), 'INTERNAL');
    assert.match(err.message, /cannot persist the relay book/);
    assert.equal(setCount(w.wg), sets);
  });
});

describe('authentication', () => {
  test('the source must be routed to the claimed parent; unknown and wrong parents fail alike, before any KEM work', async () => {
    let encapsulations = 0;
    const counting = (name: KemName): Kem => {
      const kem = provider(name);
      return { ...kem, encapsulate: (pk) => (encapsulations++, kem.encapsulate(pk)) };
    };
    const w = await makeWorld({ kems: counting });
    const client = await clientRequest(w.P.raw);
    const q = await clientRequest(w.Q.raw);
    const errs = [
      await rejects(w.relay.register(asWire(q.request), { peerAddress: '10.64.0.2' }), 'PERMISSION_DENIED'),
      await rejects(w.relay.register(asWire({ ...q.request, wg_parent_pubkey: wgKeypair().raw }), { peerAddress: '10.64.0.2' }), 'PERMISSION_DENIED'),
      await rejects(w.relay.register(asWire(client.request), { peerAddress: '10.64.0.3' }), 'PERMISSION_DENIED'),
      await rejects(w.relay.register(asWire(client.request), { peerAddress: '10.99.0.1' }), 'PERMISSION_DENIED'),
    ];
    assert.equal(new Set(errs.map((e) => e.message)).size, 1);
    assert.equal(encapsulations, 0, 'an impostor costs no encapsulation');
    assert.equal(w.wg.operations.filter((o) => o.op === 'set').length, 1, 'only the set-up set');
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
  });

  test('negotiating again from a live ephemeral: claiming it or its parent is accepted; made before broken', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    // A pending ephemeral holds no route: claiming it is refused.
    await rejects(registerDirect(w.relay, e1.ephemeral.raw, '10.64.0.2'), 'PERMISSION_DENIED');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    const events = await w.relay.tick();
    assert.deepEqual(events.map((e) => e.kind), ['swap']);
    assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS);

    // The client negotiates again through E1, naming E1 as its parent.
    const e2 = await registerDirect(w.relay, e1.ephemeral.raw, '10.64.0.2');
    let table = await peerTable(w.wg);
    assert.deepEqual(table[e1.ephemeral.publicKey]?.allowedIps, P_IPS, 'E1 is live and stays');
    assert.deepEqual(table[e2.ephemeral.publicKey]?.allowedIps, []);
    assert.deepEqual(w.relay.book.ephemerals.map((e) => e.parent), [w.P.publicKey, w.P.publicKey], 'E2 belongs to P, not to E1');
    // Naming P while travelling in E1 is accepted too (and replaces pending E2 at once).
    const e3 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    table = await peerTable(w.wg);
    assert.equal(table[e2.ephemeral.publicKey], undefined);
    assert.ok(table[e1.ephemeral.publicKey], 'E1 still live');

    // E3 handshakes: it takes the addresses, E1 goes.
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e3.ephemeral.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['superseded', 'swap']);
    table = await peerTable(w.wg);
    assert.equal(table[e1.ephemeral.publicKey], undefined);
    assert.deepEqual(table[e3.ephemeral.publicKey]?.allowedIps, P_IPS);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, []);

    // The client switches back to its parent key: P handshakes again and takes its addresses back.
    w.clock.advance(2000);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap-back']);
    table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e3.ephemeral.publicKey], undefined);
    assert.deepEqual(w.relay.book.ephemerals, []);
    assert.deepEqual(w.store.current.ephemerals, [], 'persisted');
    assert.equal(w.relay.metrics.events('swap'), 2);
    assert.equal(w.relay.metrics.events('swap-back'), 1);
    assert.match(w.relay.metrics.render(), /pqpsk_swaps_total\{direction="to_parent"\} 1/);
  });
});

describe('watcher', () => {
  test('a pending ephemeral that never handshakes goes after 120 s; an idle one after the TTL; allowed-ips return to the parent', async () => {
    const w = await makeWorld({ ephemeralTtlMs: 600_000 });
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(119_000);
    assert.deepEqual(await w.relay.tick(), []);
    w.clock.advance(2000);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['expired-pending']);
    assert.equal((await peerTable(w.wg))[e1.ephemeral.publicKey], undefined);

    const e2 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e2.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    assert.deepEqual((await peerTable(w.wg))[e2.ephemeral.publicKey]?.allowedIps, P_IPS);
    w.clock.advance(601_000);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['expired-idle']);
    const table = await peerTable(w.wg);
    assert.equal(table[e2.ephemeral.publicKey], undefined);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    const text = w.relay.metrics.render();
    assert.match(text, /pqpsk_expiries_total\{reason="no_handshake"\} 1/);
    assert.match(text, /pqpsk_expiries_total\{reason="idle"\} 1/);
  });

  test('passes that find nothing new still expire on the first millisecond past the timeout, and the gauges follow', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const registeredAt = w.clock.ms;
    for (let i = 0; i < 5; i++) {
      w.clock.advance(20_000);
      assert.deepEqual(await w.relay.tick(), []);
    }
    assert.match(w.relay.metrics.render(), /pqpsk_ephemeral_peers\{state="pending"\} 1/);
    w.clock.ms = registeredAt + 120_000;
    assert.deepEqual(await w.relay.tick(), []);
    w.clock.ms += 1;
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['expired-pending']);
    assert.equal((await peerTable(w.wg))[e1.ephemeral.publicKey], undefined);
    assert.match(w.relay.metrics.render(), /pqpsk_ephemeral_peers\{state="pending"\} 0/);

    // A handshake seen by a pass is acted on, whatever the passes before it settled.
    const e2 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e2.ephemeral.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap']);
    assert.match(w.relay.metrics.render(), /pqpsk_ephemeral_peers\{state="live"\} 1/);
  });

  test('a pass that read handshakes alone, on a cache older than a batch may plan on, reads everything before it changes anything', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(true), []);
    // Since the last full read the operator gave P one more address, and e1 handshook.
    await w.wg.set(IFACE, { peers: [{ publicKey: w.P.publicKey, allowedIps: [...P_IPS, '10.64.0.9/32'] }] });
    w.clock.advance(BATCH_READ_MAX_AGE_MS + 1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick(true)).map((e) => e.kind), ['swap']);
    const table = await peerTable(w.wg);
    assert.deepEqual([...(table[e1.ephemeral.publicKey]?.allowedIps ?? [])].sort(), [...P_IPS, '10.64.0.9/32'].sort());
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, []);
  });

  test('a pass that read handshakes alone swaps on a recent cache without a full read; an operator change it missed is seen by the next full read', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    // Just after that full read the operator gave P one more address, and e1 handshook.
    await w.wg.set(IFACE, { peers: [{ publicKey: w.P.publicKey, allowedIps: [...P_IPS, '10.64.0.9/32'] }] });
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    const before = w.wg.operations.length;
    assert.deepEqual((await w.relay.tick(true)).map((e) => e.kind), ['swap']);
    assert.deepEqual(w.wg.operations.slice(before).map((o) => o.op), ['latestHandshakes', 'set'], 'the client waits on no full read of the interface');
    let table = await peerTable(w.wg);
    assert.deepEqual(table[e1.ephemeral.publicKey]?.allowedIps, P_IPS);
    // The next full read sees the address the cache missed on the parent, as if the
    // operator's change had come just after the relay's read: the operator overruled it.
    w.clock.advance(BATCH_READ_MAX_AGE_MS);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['overruled']);
    table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, ['10.64.0.9/32']);
    assert.equal(table[e1.ephemeral.publicKey], undefined);
  });

  test('after a swap whose `wg set` failed, the next pass reads the whole interface before it changes anything, however recent the cache', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    w.wg.failNext('set');
    await assert.rejects(w.relay.tick(true));
    const before = w.wg.operations.length;
    assert.deepEqual((await w.relay.tick(true)).map((e) => e.kind), ['swap']);
    const ops = w.wg.operations.slice(before).map((o) => o.op);
    assert.ok(ops.indexOf('peerRoutes') !== -1 && ops.indexOf('peerRoutes') < ops.indexOf('set'), `a full read before the set: ${ops.join(', ')}`);
    assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS);
  });

  test('a handshakes-only pass overtaken by a registration reads the handshakes again, not the whole interface, and still sees a new handshake', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(true), []);
    // The pass's own read is held until a registration's `wg set` has run: it is stale.
    const { reading, release } = holdNextHandshakesRead(w.wg);
    const pass = w.relay.tick(true);
    await reading;
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    // e1 handshakes after the stale read was taken: the pass must still see it.
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    const before = w.wg.operations.length;
    release();
    assert.deepEqual((await pass).map((e) => e.kind), ['swap']);
    const ops = w.wg.operations.slice(before).map((o) => o.op);
    // One handshakes read under the lock, then the `wg set`: the cache's allowed-ips are
    // recent enough (a full read 1 s ago) for the swap, as they would be for a batch.
    assert.deepEqual(ops, ['latestHandshakes', 'set']);
    assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS);
  });

  test('a handshakes-only pass overtaken by a registration, with nothing to change, starts no full read', async () => {
    const w = await makeWorld();
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(true), []);
    const { reading, release } = holdNextHandshakesRead(w.wg);
    const pass = w.relay.tick(true);
    await reading;
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    const before = w.wg.operations.length;
    release();
    assert.deepEqual(await pass, []);
    assert.deepEqual(
      w.wg.operations.slice(before).map((o) => o.op),
      ['latestHandshakes'],
      'the registration changed only what the relay itself applied: the handshakes are all the pass needs',
    );
  });

  test('a full pass overtaken by a registration, with nothing to change, reads the handshakes under the lock, not everything', async () => {
    const w = await makeWorld();
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    const { reading, release } = holdNextRead(w.wg, 'peerRoutes');
    const pass = w.relay.tick();
    await reading;
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    const before = w.wg.operations.length;
    release();
    assert.deepEqual(await pass, []);
    assert.deepEqual(w.wg.operations.slice(before).map((o) => o.op), ['latestHandshakes'], 'registrations waiting for the lock do not wait for a full read');
  });

  test('a full pass overtaken by a registration still reads everything before it changes anything', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    const { reading, release } = holdNextRead(w.wg, 'peerRoutes');
    const pass = w.relay.tick();
    await reading;
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    // Later than a batch would plan on the cache, the operator gave P one more address, and e1 handshook.
    w.clock.advance(BATCH_READ_MAX_AGE_MS + 1000);
    await w.wg.set(IFACE, { peers: [{ publicKey: w.P.publicKey, allowedIps: [...P_IPS, '10.64.0.9/32'] }] });
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    release();
    assert.deepEqual((await pass).map((e) => e.kind), ['swap']);
    const table = await peerTable(w.wg);
    assert.deepEqual([...(table[e1.ephemeral.publicKey]?.allowedIps ?? [])].sort(), [...P_IPS, '10.64.0.9/32'].sort());
  });

  test('the polling watcher applies a swap by itself once the ephemeral handshakes', async () => {
    const w = await makeWorld({ poll: { fastMs: 5, idleMs: 50, freshMs: 1000 } });
    w.relay.startWatcher();
    try {
      const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
      w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds + 1);
      await w.clock.runFor(5);
      // Within one fast poll of virtual time, with no tick called by the test.
      assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS);
      assert.equal(w.relay.metrics.events('swap'), 1);
      assert.match(w.relay.metrics.render(), /pqpsk_ephemeral_peers\{state="live"\} 1/);
    } finally {
      await w.relay.close();
    }
  });

  test('switching back to the parent within the same handshake second still moves the addresses back (order of observation)', async () => {
    const w = await makeWorld();
    w.clock.ms = Math.floor(w.clock.ms / 1000) * 1000 + 100; // early in second S
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap']);
    // The client rolls back to its parent key 300 ms later: `wg` shows the same second for both.
    w.clock.advance(300);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, w.clock.seconds);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap-back']);
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e1.ephemeral.publicKey], undefined);
  });

  test('a rollback to the parent within the handshake second of the switch, both seen in one pass: the parent\'s traffic gets its addresses at the next pass', async () => {
    // Our own client: it switches to E1, E1 handshakes, verification fails, and it rolls
    // back to the parent key 60 ms later, late in the second. The relay's next look comes
    // after the second ended: `wg` shows both handshakes in the same second.
    const w = await makeWorld();
    const second = w.clock.seconds + 1;
    w.clock.ms = second * 1000 + 900;
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    w.clock.advance(20);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, second);
    w.wg.setTransfer(IFACE, e1.ephemeral.publicKey, 148, 92);
    w.clock.advance(60);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, second);
    const received = (await w.wg.show(IFACE)).peers.find((p) => p.publicKey === w.P.publicKey)!.rxBytes;
    w.wg.setTransfer(IFACE, w.P.publicKey, received + 148, 0);
    w.clock.advance(150); // the relay's pass, 130 ms into the next second
    await w.relay.tick();
    // The client's pings go out on the parent key; the relay counts them whatever it routes.
    w.wg.setTransfer(IFACE, w.P.publicKey, received + 148 + 4 * 116, 0);
    w.clock.advance(250);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap-back']);
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e1.ephemeral.publicKey], undefined, 'the ephemeral the client left is removed');
    assert.ok(w.wg.operations.some((o) => o.op === 'receivedBytes'), 'the tie was broken by the counters');
    // The tie is over: later passes read no counters.
    const reads = w.wg.operations.filter((o) => o.op === 'receivedBytes').length;
    w.clock.advance(250);
    await w.relay.tick();
    assert.equal(w.wg.operations.filter((o) => o.op === 'receivedBytes').length, reads);
  });

  test('on Linux\'s WireGuard the same rollback is told by the frame errors: the parent\'s pings are dropped uncounted while the ephemeral holds the addresses', async () => {
    // The test bed runs wireguard-go only; the kernel's counting is the fake's kernel mode.
    const w = await makeWorld({}, undefined, 'kernel');
    const second = w.clock.seconds + 1;
    w.clock.ms = second * 1000 + 900;
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    assert.deepEqual(await w.relay.tick(), []);
    assert.equal(w.wg.operations.filter((o) => o.op === 'frameErrors').length, 0, 'no tie: no frame errors read');
    w.clock.advance(20);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, second);
    w.wg.setTransfer(IFACE, e1.ephemeral.publicKey, 148, 92);
    w.clock.advance(60);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, second);
    w.clock.advance(150);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap'], 'undecided: the newest registration holds for now');
    for (let ping = 0; ping < 4; ping++) w.wg.receiveData(IFACE, w.P.publicKey, 116, P_IPS[0]!);
    w.clock.advance(250);
    assert.deepEqual((await w.relay.tick()).map((e) => e.kind), ['swap-back']);
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e1.ephemeral.publicKey], undefined, 'the ephemeral the client left is removed');
    const frameReads = w.wg.operations.filter((o) => o.op === 'frameErrors').length;
    assert.equal(frameReads, w.wg.operations.filter((o) => o.op === 'receivedBytes').length, 'read with the counters, at their cadence');
    w.clock.advance(250);
    await w.relay.tick();
    assert.equal(w.wg.operations.filter((o) => o.op === 'frameErrors').length, frameReads, 'the tie is over: no more reads');
  });

  test('a switch forward in the handshake second of the parent keeps the ephemeral once its counters move, and stops reading them when the second is over', async () => {
    const w = await makeWorld();
    const second = w.clock.seconds + 1;
    w.clock.ms = second * 1000 + 100;
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, second);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, second);
    let bytes = 148;
    const send = (): void => {
      bytes += 500;
      w.wg.setTransfer(IFACE, e1.ephemeral.publicKey, bytes, 0);
    };
    for (let pass = 0; pass < 6; pass++) {
      send();
      await w.relay.tick();
      assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS, `pass ${pass}: the ephemeral holds the addresses`);
      w.clock.advance(250);
    }
    // Settled by a window that began after the tied second: no more reads, and the verdict stays.
    const reads = w.wg.operations.filter((o) => o.op === 'receivedBytes').length;
    for (let pass = 0; pass < 3; pass++) {
      await w.relay.tick();
      w.clock.advance(250);
    }
    assert.equal(w.wg.operations.filter((o) => o.op === 'receivedBytes').length, reads);
    assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS);
  });

  test('a wg failure during a pass is logged once and the next pass recovers', async () => {
    const w = await makeWorld({ poll: { fastMs: 5, idleMs: 5, freshMs: 1000 } });
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    // The registration just read everything and this clock stands still, so the passes
    // read latest handshakes alone (a full read is due only `idleMs` after the last).
    for (let i = 0; i < 3; i++) w.wg.failNext('latestHandshakes');
    w.relay.startWatcher();
    try {
      // Passes every 5 virtual ms: three fail on `wg`, the next one recovers.
      await w.clock.runFor(1000);
      assert.equal(w.logger.of('watcher-recovered').length, 1);
      assert.equal(w.logger.of('watcher-failed').length, 1);
    } finally {
      await w.relay.close();
    }
  });
});

describe('limits', () => {
  test('per-parent rate limit → RESOURCE_EXHAUSTED without touching wg; other parents unaffected', async () => {
    const w = await makeWorld({ rateLimit: { burst: 2, perSecond: 0.5 } });
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const sets = setCount(w.wg);
    const err = await rejects(registerDirect(w.relay, w.P.raw, '10.64.0.2'), 'RESOURCE_EXHAUSTED');
    assert.match(err.message, /retry in 2s/);
    assert.equal(setCount(w.wg), sets);
    await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    w.clock.advance(2000);
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
  });

  test('the rate limit is charged to the authenticated parent, so an impostor cannot drain it', async () => {
    const w = await makeWorld({ rateLimit: { burst: 1, perSecond: 0.001 } });
    for (let i = 0; i < 3; i++) await rejects(registerDirect(w.relay, w.P.raw, '10.64.0.3'), 'PERMISSION_DENIED');
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
  });

  test('global in-flight cap → RESOURCE_EXHAUSTED at once, while the held request still completes', async () => {
    const gate = deferred();
    let held = 0;
    const slow = (name: KemName): Kem => {
      const kem = provider(name);
      return { ...kem, encapsulate: async (pk) => (held++, await gate.promise, kem.encapsulate(pk)) };
    };
    const w = await makeWorld({ kems: slow, maxInflight: 2 });
    const a = registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const b = registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    await eventually('two requests held', () => held === 2);
    const sets = setCount(w.wg);
    const err = await rejects(registerDirect(w.relay, w.P.raw, '10.64.0.2'), 'RESOURCE_EXHAUSTED');
    assert.match(err.message, /too many registrations in flight/);
    assert.equal(setCount(w.wg), sets);
    assert.match(w.relay.metrics.render(), /pqpsk_registrations_in_flight 2/);
    gate.resolve();
    await Promise.all([a, b]);
    assert.equal(w.relay.inflight, 0);
  });

  test('a cancelled call never reaches wg', async () => {
    const w = await makeWorld();
    const sets = setCount(w.wg);
    const client = await clientRequest(w.P.raw);
    const controller = new AbortController();
    controller.abort();
    await rejects(w.relay.register(asWire(client.request), { peerAddress: '10.64.0.2', signal: controller.signal }), 'TIMEOUT');
    assert.equal(setCount(w.wg), sets);
  });
});

describe('restart recovery', () => {
  test('reopening on a book: the live ephemeral stays, pending and missing ones go, no orphan keeps addresses', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    const e2 = await registerDirect(w.relay, e1.ephemeral.raw, '10.64.0.2'); // pending, made while E1 is live
    const q1 = await registerDirect(w.relay, w.Q.raw, '10.64.0.3'); // pending
    // "kill -9": no close(); a new relay opens on the same interface and store.
    const logger = new MemoryLogger();
    const relay2 = await openRelay({ wg: w.wg, store: w.store, logger, clock: w.clock });
    const table = await peerTable(w.wg);
    assert.deepEqual(table[e1.ephemeral.publicKey]?.allowedIps, P_IPS, 'live E1 keeps serving');
    assert.equal(table[e2.ephemeral.publicKey], undefined);
    assert.equal(table[q1.ephemeral.publicKey], undefined);
    assert.deepEqual(table[w.Q.publicKey]?.allowedIps, Q_IPS);
    assert.deepEqual(relay2.book.ephemerals.map((e) => e.ephemeral), [e1.ephemeral.publicKey]);
    assert.deepEqual(w.store.current.ephemerals.map((e) => e.ephemeral), [e1.ephemeral.publicKey]);
    // And it keeps working: the parent handshakes and takes its addresses back.
    w.clock.advance(5000);
    w.wg.setLatestHandshake(IFACE, w.P.publicKey, w.clock.seconds);
    await relay2.tick();
    assert.deepEqual((await peerTable(w.wg))[w.P.publicKey]?.allowedIps, P_IPS);
  });

  test('a crash between the write-ahead book and wg set: recovery drops the record of a peer that never appeared', async () => {
    const w = await makeWorld();
    const ghost = wgKeypair().publicKey;
    const book: RelayBook = {
      parents: [{ parent: w.P.publicKey, allowedIps: P_IPS }],
      ephemerals: [{ ephemeral: ghost, parent: w.P.publicKey, registeredAt: w.clock.ms }],
    };
    const store = new MemoryBookStore(book);
    const before = await peerTable(w.wg);
    const relay2 = await openRelay({ wg: w.wg, store, logger: new MemoryLogger(), clock: w.clock });
    assert.deepEqual(relay2.book, { parents: [], ephemerals: [] });
    assert.deepEqual(await peerTable(w.wg), before);
  });

  test('an orphan holding the parent\'s addresses while the parent has none gets them moved back', async () => {
    const w = await makeWorld();
    const orphan = wgKeypair().publicKey;
    // As if the relay crashed after giving the addresses to an ephemeral it recorded, then lost its live status.
    await w.wg.set(IFACE, { peers: [{ publicKey: orphan, allowedIps: P_IPS }] });
    const other = wgKeypair().publicKey;
    await w.wg.set(IFACE, { peers: [{ publicKey: other }] });
    const book: RelayBook = {
      parents: [{ parent: w.P.publicKey, allowedIps: P_IPS }],
      ephemerals: [
        { ephemeral: orphan, parent: w.P.publicKey, registeredAt: w.clock.ms - 1000 },
        { ephemeral: other, parent: w.P.publicKey, registeredAt: w.clock.ms },
      ],
    };
    const relay2 = await openRelay({ wg: w.wg, store: new MemoryBookStore(book), logger: new MemoryLogger(), clock: w.clock });
    const table = await peerTable(w.wg);
    assert.deepEqual(table[orphan]?.allowedIps, P_IPS, 'the holder is live: kept');
    assert.equal(table[other], undefined, 'the non-holder is removed');
    assert.deepEqual(relay2.book.ephemerals.map((e) => e.ephemeral), [orphan]);
  });

  test('the union book written ahead holds every record of both versions', () => {
    const a = wgKeypair().publicKey;
    const b = wgKeypair().publicKey;
    const p = wgKeypair().publicKey;
    const older: RelayBook = { parents: [{ parent: p, allowedIps: ['10.0.0.1/32'] }], ephemerals: [{ ephemeral: a, parent: p, registeredAt: 1 }] };
    const newer: RelayBook = { parents: [{ parent: p, allowedIps: ['10.0.0.1/32'] }], ephemerals: [{ ephemeral: b, parent: p, registeredAt: 2 }] };
    assert.deepEqual(unionBook(older, newer).ephemerals.map((e) => e.ephemeral), [a, b]);
    assert.equal(unionBook(older, newer).parents.length, 1);
  });
});

describe('shutdown', () => {
  test('close(): every parent gets its addresses back and the ephemerals go, in one wg set; the book is empty; later requests are refused', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    assert.deepEqual((await peerTable(w.wg))[w.P.publicKey]?.allowedIps, [], 'the parent is at none while E1 is live');
    const q1 = await registerDirect(w.relay, w.Q.raw, '10.64.0.3'); // pending: Q still holds its own
    const sets = setCount(w.wg);
    await w.relay.close();
    assert.equal(setCount(w.wg) - sets, 1, 'one wg set');
    const table = await peerTable(w.wg);
    assert.deepEqual(table, { [w.P.publicKey]: { allowedIps: P_IPS, psk: false }, [w.Q.publicKey]: { allowedIps: Q_IPS, psk: false } }, 'parents hold their addresses; no ephemeral (nor its PSK) is left');
    assert.equal(table[e1.ephemeral.publicKey], undefined);
    assert.equal(table[q1.ephemeral.publicKey], undefined);
    assert.deepEqual(w.store.current, { parents: [], ephemerals: [] }, 'the stored book is empty');
    const line = w.logger.of('given-back').at(-1);
    assert.ok(line !== undefined, 'a given-back line');
    assert.equal(line['parents'], 1);
    assert.equal(line['ephemerals_removed'], 2);
    assert.equal(w.relay.healthy, false);
    await rejects(registerDirect(w.relay, w.P.raw, '10.64.0.2'), 'STOPPING');
    // The next start finds nothing to reconcile.
    const sets2 = setCount(w.wg);
    const relay2 = await openRelay({ wg: w.wg, store: w.store, logger: new MemoryLogger(), clock: w.clock });
    assert.equal(setCount(w.wg), sets2, 'no change at the next start');
    assert.deepEqual(relay2.book, { parents: [], ephemerals: [] });
  });

  test('close() after a crash left a live ephemeral: a relay opened only to release gives the parent its addresses back', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    // "kill -9": no close(). `pqpsk server --release` opens (reconciling) and closes.
    const released = await openRelay({ wg: w.wg, store: w.store, logger: new MemoryLogger(), clock: w.clock });
    assert.deepEqual((await peerTable(w.wg))[e1.ephemeral.publicKey]?.allowedIps, P_IPS, 'recovery keeps the live one');
    await released.close();
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e1.ephemeral.publicKey], undefined);
    assert.deepEqual(w.store.current, { parents: [], ephemerals: [] });
  });

  test("close(): an ephemeral the operator took over (gave it an address of their own) stays theirs, and its parent is not given what it holds", async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    const e2 = await registerDirect(w.relay, w.Q.raw, '10.64.0.3');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    w.wg.setLatestHandshake(IFACE, e2.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    // The operator makes E2 theirs.
    await w.wg.set(IFACE, { peers: [{ publicKey: e2.ephemeral.publicKey, allowedIps: [...Q_IPS, '10.64.0.8/32'] }] });
    await w.relay.close();
    const table = await peerTable(w.wg);
    assert.deepEqual(table[w.P.publicKey]?.allowedIps, P_IPS);
    assert.equal(table[e1.ephemeral.publicKey], undefined);
    assert.deepEqual(table[e2.ephemeral.publicKey]?.allowedIps, [...Q_IPS, '10.64.0.8/32'], "the operator's peer is left alone");
    assert.deepEqual(table[w.Q.publicKey]?.allowedIps, [], 'and Q gets nothing taken from it');
  });

  test('close() after the interface went away (wg-quick down first): nothing to give back, a warning, no error', async () => {
    const w = await makeWorld();
    await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.wg.removeInterface(IFACE);
    await w.relay.close();
    assert.deepEqual(w.logger.records.filter((r) => r.record.event === 'give-back-failed').map((r) => r.level), ['warn']);
  });

  test('close() when wg fails: the error names the interface, the book keeps every record, and the next start reconciles', async () => {
    const w = await makeWorld();
    const e1 = await registerDirect(w.relay, w.P.raw, '10.64.0.2');
    w.clock.advance(1000);
    w.wg.setLatestHandshake(IFACE, e1.ephemeral.publicKey, w.clock.seconds);
    await w.relay.tick();
    w.wg.failNext('set');
    const err = await rejects(w.relay.close(), 'WG_FAILURE');
    assert.match(err.message, new RegExp(`^${IFACE}: could not give the parents their addresses back \\(.*\\); the book keeps every record, so the next start reconciles$`));
    assert.ok(w.logger.of('give-back-failed').length === 1);
    assert.deepEqual(w.store.current.ephemerals.map((e) => e.ephemeral), [e1.ephemeral.publicKey]);
    const relay2 = await openRelay({ wg: w.wg, store: w.store, logger: new MemoryLogger(), clock: w.clock });
    await relay2.close();
    assert.deepEqual((await peerTable(w.wg))[w.P.publicKey]?.allowedIps, P_IPS);
  });
});

test('HQC-256 runs through the injected provider (the service passes the worker pool)', async () => {
  const seen: KemName[] = [];
  const w = await makeWorld({ kems: (name) => (seen.push(name), inThreadKems().get(name)!) });
  await registerDirect(w.relay, w.P.raw, '10.64.0.2', ['HQC-256', 'ML-KEM-1024']);
  assert.deepEqual(seen, ['ML-KEM-1024', 'HQC-256'], 'the in-thread KEM validates its key before HQC-256 work starts');
  const line = w.logger.of('registration').at(-1)!;
  assert.deepEqual(Object.keys(line['encaps_ms'] as object), ['HQC-256', 'ML-KEM-1024']);
});

/** Hold the next answer of `op` until `release`; `reading` resolves once it was read. */
function holdNextRead(wg: World['wg'], op: 'peerRoutes' | 'latestHandshakes'): { reading: Promise<void>; release: () => void } {
  const read: (iface: string) => Promise<unknown> = wg[op].bind(wg);
  const released = deferred();
  const reading = deferred();
  let hold = true;
  const held = async (iface: string): Promise<unknown> => {
    const answer = await read(iface);
    if (hold) {
      hold = false;
      reading.resolve();
      await released.promise;
    }
    return answer;
  };
  Object.assign(wg, { [op]: held });
  return { reading: reading.promise, release: () => released.resolve() };
}

/** Hold the next `latestHandshakes` answer until `release`; `reading` resolves once it was read. */
function holdNextHandshakesRead(wg: World['wg']): { reading: Promise<void>; release: () => void } {
  return holdNextRead(wg, 'latestHandshakes');
}
