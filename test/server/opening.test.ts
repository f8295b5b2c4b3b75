/**
 * Calls that arrive while the relay opens: they wait for it, bounded in number and time,
 * and are refused with a text that says the relay is starting — unit tests of the wait,
 * then the assembled service on 127.0.0.1 with an interface read held back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { OpeningWait } from '../../src/server/opening.js';
import { startRelayService, type RelayService } from '../../src/server/service.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import type { RelayWg } from '../../src/wg/types.js';
import { rejection } from '../fixtures/errors.js';
import { IFACE, P_IPS, asWireResponse, clientRequest, deferred, provider, wgKeypair } from './helpers.js';

describe('OpeningWait', () => {
  test('waiting calls go on when the relay opens; later calls pass at once', async () => {
    const wait = new OpeningWait(2, 10_000);
    let through = 0;
    const a = wait.wait().then(() => through++);
    const b = wait.wait().then(() => through++);
    await Promise.resolve();
    assert.equal(through, 0);
    assert.equal(wait.waiting, 2);
    wait.open();
    await Promise.all([a, b]);
    assert.equal(through, 2);
    assert.equal(wait.waiting, 0);
    await wait.wait();
  });

  test('bounded: a call beyond maxWaiting is refused at once, one that waited too long after waitMs, both STARTING', async () => {
    const wait = new OpeningWait(1, 50);
    const first = wait.wait();
    const second = await rejection(wait.wait());
    assert.equal(second.code, 'STARTING');
    assert.equal(second.message, 'relay is starting: too many calls waiting, retry in a few seconds');
    const err = await rejection(first);
    assert.equal(err.code, 'STARTING');
    assert.equal(err.message, 'relay is starting: not open yet, retry in a few seconds');
    assert.equal(wait.waiting, 0, 'a refused call holds nothing');
  });

  test('a cancelled call stops waiting (TIMEOUT); a failed start refuses the rest as STOPPING', async () => {
    const wait = new OpeningWait(4, 10_000);
    const controller = new AbortController();
    const cancelled = wait.wait(controller.signal);
    const other = wait.wait();
    controller.abort();
    assert.equal((await rejection(cancelled)).code, 'TIMEOUT');
    wait.fail();
    assert.equal((await rejection(other)).code, 'STOPPING');
    assert.equal((await rejection(wait.wait())).code, 'STOPPING');
  });
});

/** A fake interface whose reads wait for `held` (the relay cannot open until it resolves). */
async function heldInterface(held: Promise<void>): Promise<{ wg: RelayWg; fake: FakeWgControl; parent: ReturnType<typeof wgKeypair> }> {
  const fake = new FakeWgControl();
  fake.addInterface(IFACE, { privateKey: wgKeypair().privateKey });
  const parent = wgKeypair();
  await fake.set(IFACE, { peers: [{ publicKey: parent.publicKey, allowedIps: P_IPS }] });
  const wg: RelayWg = {
    publicKey: async (i) => (await held, fake.publicKey(i)),
    peerRoutes: async (i) => (await held, fake.peerRoutes(i)),
    latestHandshakes: (i) => fake.latestHandshakes(i),
    set: fake.set.bind(fake),
  };
  return { wg, fake, parent };
}

/** A free loopback port: the service must bind a known one before it resolves. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const bound = probe.address();
      probe.close(() => resolve(typeof bound === 'object' && bound !== null ? bound.port : 0));
    });
  });
}

describe('the service while it opens (127.0.0.1)', () => {
  test('a call made before the relay is open waits for it and succeeds', async () => {
    const held = deferred();
    const { wg, fake, parent } = await heldInterface(held.promise);
    const port = await freePort();
    const starting = startRelayService({ iface: IFACE, listen: parseHostPort('listen', `127.0.0.1:${port}`), wg, store: new MemoryBookStore(), kems: provider, rateLimit: null });
    let service: RelayService | undefined;
    try {
      const client = await clientRequest(parent.raw);
      const call = callRegisterPeer(`127.0.0.1:${port}`, client.request, { deadline: Date.now() + 10_000 });
      // Let the call reach the service and wait there before the relay may open.
      await new Promise((r) => setTimeout(r, 300));
      held.resolve();
      service = await starting;
      const psk = await client.derive(asWireResponse(await call));
      const relayPsk = fake.presharedKeyOf(IFACE, client.ephemeral.publicKey);
      assert.ok(relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk)), 'registered with the same PSK');
      psk.fill(0);
      relayPsk.fill(0);
    } finally {
      held.resolve();
      await (service ?? (await starting)).stop();
    }
  });

  test('still not open after the wait, or more than --max-inflight waiting: UNAVAILABLE saying the relay is starting', async () => {
    const held = deferred();
    const { wg, parent } = await heldInterface(held.promise);
    const port = await freePort();
    const starting = startRelayService({
      iface: IFACE,
      listen: parseHostPort('listen', `127.0.0.1:${port}`),
      wg,
      store: new MemoryBookStore(),
      kems: provider,
      rateLimit: null,
      maxInflight: 1,
      openingWaitMs: 400,
    });
    try {
      const target = `127.0.0.1:${port}`;
      const first = callRegisterPeer(target, (await clientRequest(parent.raw)).request, { deadline: Date.now() + 10_000 });
      first.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
      const started = Date.now();
      const over = await rejection(callRegisterPeer(target, (await clientRequest(parent.raw)).request, { deadline: Date.now() + 10_000 }));
      assert.match(over.message, /^relay at \S+ is not available: relay is starting, retry in a few seconds$/);
      assert.ok(Date.now() - started < 300, 'the call beyond the cap is refused without waiting');
      const waited = await rejection(first);
      assert.ok(isPqpskError(waited));
      assert.match(waited.message, /^relay at \S+ is not available: relay is starting, retry in a few seconds$/);
    } finally {
      held.resolve();
      await (await starting).stop();
    }
  });
});
