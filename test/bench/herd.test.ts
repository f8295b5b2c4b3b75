/**
 * A relay restart heals the herd: 500 watchers whose ephemeral peers were live on a relay
 * with its defaults (rate limits, in-flight cap) lose them when it restarts, notice over
 * the next two seconds, and renegotiate with the watcher's own policy and backoff while
 * the relay is down and then busy. Every client must end protected: it holds a fresh
 * PSK, and the PSK the relay set on its new ephemeral peer is the one the client derives
 * from the answer; no watcher gives up. Correctness only: how fast the herd heals is the
 * benchmark's (`npm run bench -- --only herd`), never asserted here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runHerd, type HerdClient } from '../../bench/harness/herd-load.js';
import { sourceAddress } from '../../bench/harness/source-address.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import { combineSharedSecrets } from '../../src/kem/psk.js';
import type { Kem, KemKeypair } from '../../src/kem/types.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { startRelayService, type RelayService } from '../../src/server/service.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';

const IFACE = 'herd0';
const CLIENTS = 500;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test(`relay restart: ${CLIENTS} watchers all end protected with the PSK the relay set, none gives up`, { timeout: 170_000 }, async (t) => {
  const fake = new FakeWgControl({ record: false });
  fake.addInterface(IFACE, { privateKey: generatePrivateKey() });
  const now = Date.now();
  const clients: HerdClient[] = [];
  const oldEphemerals: string[] = [];
  const book = { parents: [] as { parent: string; allowedIps: string[] }[], ephemerals: [] as { ephemeral: string; parent: string; registeredAt: number }[] };
  const peers = [];
  for (let i = 0; i < CLIENTS; i++) {
    const parent = publicKeyOf(generatePrivateKey());
    const parentText = publicKeyToText(parent);
    const ephemeral = publicKeyToText(randomBytes(32));
    const ip = `${sourceAddress(i)}/32`;
    clients.push({ parent, source: sourceAddress(i) });
    oldEphemerals.push(ephemeral);
    // Live before the restart: the ephemeral holds its parent's address and handshook a minute ago.
    peers.push({ publicKey: parentText, allowedIps: [] }, { publicKey: ephemeral, allowedIps: [ip], presharedKey: randomBytes(32) });
    book.parents.push({ parent: parentText, allowedIps: [ip] });
    book.ephemerals.push({ ephemeral, parent: parentText, registeredAt: now - 60_000 });
  }
  await fake.set(IFACE, { peers });
  for (const e of oldEphemerals) fake.setLatestHandshake(IFACE, e, Math.floor(now / 1000) - 60);
  const store = new MemoryBookStore(book, { latestOnly: true });
  const port = await freePort();
  // The relay's own defaults: rate limits and the in-flight cap as installed.
  const start = (): Promise<RelayService> => startRelayService({ iface: IFACE, listen: parseHostPort('listen', `127.0.0.1:${port}`), wg: fake, store, hqcWorkers: 1 });

  // ML-KEM-1024 alone keeps the test light on a busy machine; the bench offers the
  // watcher's default pair, and the PSK combiner has tests of its own.
  const kems: Kem[] = [createMlKem1024()];
  const pairs: KemKeypair[] = [];
  for (const kem of kems) pairs.push(await kem.keygen());
  let relay: RelayService | undefined = await start();
  try {
    assert.equal(relay.relay.book.ephemerals.length, CLIENTS, 'the live ephemerals were kept at start');
    const herd = runHerd({
      target: `127.0.0.1:${port}`,
      clients,
      kems: kems.map((k, i) => ({ name: k.name, publicKey: pairs[i]!.publicKey })),
      detectSpreadMs: 2000,
      horizonMs: 150_000,
      keepAnswers: true,
    });
    // The restart: a graceful stop removes every ephemeral peer; the new relay starts empty-handed.
    await relay.stop();
    relay = undefined;
    const left = new Set((await fake.peerRoutes(IFACE)).map((p) => p.publicKey));
    assert.equal(oldEphemerals.filter((e) => left.has(e)).length, 0, 'a stopped relay leaves no ephemeral peer behind');
    relay = await start();
    const outcome = await herd;
    t.diagnostic(`${outcome.calls} calls, failures ${JSON.stringify(outcome.failures)}, at most ${outcome.maxAttempts} attempts for one client`);

    assert.equal(outcome.gaveUp, 0, `clients that gave up: ${outcome.gaveUp} (failures: ${JSON.stringify(outcome.failures)})`);
    const unhealed = outcome.healedAtMs.filter((t) => t === null).length;
    assert.equal(unhealed, 0, `clients without a fresh PSK: ${unhealed} (failures: ${JSON.stringify(outcome.failures)})`);
    let agreed = 0;
    for (const [i, answer] of (outcome.answers ?? []).entries()) {
      assert.ok(answer !== null, `client ${i}: no answer kept`);
      const secrets = [];
      for (const [k, kem] of kems.entries()) secrets.push(await kem.decapsulate(answer.ciphertexts[k]!, pairs[k]!.secretKey));
      const psk = combineSharedSecrets(secrets);
      const relayPsk = fake.presharedKeyOf(IFACE, publicKeyToText(answer.ephemeral));
      assert.ok(relayPsk !== null && Buffer.from(relayPsk).equals(Buffer.from(psk)), `client ${i}: the relay set a different PSK from the one the client derives`);
      for (const s of [...secrets, psk, relayPsk]) s.fill(0);
      agreed++;
    }
    assert.equal(agreed, CLIENTS);
    assert.equal(relay.relay.book.ephemerals.length, CLIENTS, 'the new relay records one ephemeral per client');
  } finally {
    for (const p of pairs) p.secretKey.fill(0);
    await relay?.stop();
  }
});
