/**
 * End-to-end: Mullvad's own client (`mullvad-upgrade-tunnel` v1.0.5, see mullvad-peer.ts)
 * against `pqpsk server` on the real bed, for each KEM set it offers that the relay
 * supports: `mlkem` (ML-KEM-1024) and its default `cme-mlkem` (Classic McEliece 460896f
 * round 3, then ML-KEM-1024). Each time, as a user would see it: the tool exits 0 without
 * a word, the interface holds a new key and the PSK the relay installed, and a ping crosses
 * the switched tunnel. Run again on an upgraded interface, it says so and changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSingleHop, peerPskFingerprint, startRelayServer, type Bed, type SingleHopTopology } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';
import { mullvadSkip, requireMullvadClient, runMullvadClient, runMullvadClientWhenPortAccepts } from './mullvad-peer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pings the relay through the tunnel until one answers (bounded); the relay moves the addresses to a peer once it handshakes. */
async function pingThrough(bed: Bed, t: SingleHopTopology, tries = 15): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if ((await bed.ping(t.client.namespace, t.relay.gateway, { count: 1, waitSeconds: 1 })).exitCode === 0) return true;
  }
  return false;
}

/**
 * Puts the client back on its parent key without a PSK, as before an upgrade, and waits
 * until the relay routes the parent again. It first lets the handshake second of the
 * ephemeral peer pass: the relay tells which key its client uses by the later handshake,
 * and `wg` counts handshakes in whole seconds.
 */
async function backToParent(bed: Bed, t: SingleHopTopology, parentKey: Uint8Array): Promise<void> {
  await sleep(1100);
  await bed.wg(t.client.namespace).set(t.client.iface, { privateKey: parentKey, peers: [{ publicKey: t.relay.publicKey, presharedKey: null }] });
  assert.ok(await pingThrough(bed, t), 'ping on the parent key again');
}

test('Mullvad\'s own client upgrades a tunnel through pqpsk server with each KEM set it offers', { skip: e2eSkip() || mullvadSkip() }, async (ctx) => {
  requireBed();
  requireMullvadClient();
  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-mullvad-interop-'));
  const { bed, topology: t } = await buildSingleHop();
  const clientWg = bed.wg(t.client.namespace);
  const parentKey = await clientWg.readPrivateKey(t.client.iface);
  try {
    await startRelayServer(bed, t.relay, stateDir);
    assert.ok(await pingThrough(bed, t), 'ping on the parent key before any upgrade');
    for (const kem of ['mlkem', 'cme-mlkem'] as const) {
      const started = performance.now();
      const run = await runMullvadClient(bed, t.client.namespace, t.client.iface, kem);
      const ms = Math.round(performance.now() - started);
      // Success is silent: exit 0, nothing on stdout or stderr.
      assert.deepEqual([run.exitCode, run.stdout, run.stderr], [0, '', ''], `-kem ${kem}`);

      const ephemeral = await clientWg.publicKey(t.client.iface);
      assert.notEqual(ephemeral, t.client.publicKey, `-kem ${kem}: the interface switched to a new key`);
      const clientFingerprint = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
      assert.notEqual(clientFingerprint, null, `-kem ${kem}: the client set a PSK`);
      assert.equal(await peerPskFingerprint(t.relay.namespace, t.relay.iface, ephemeral), clientFingerprint, `-kem ${kem}: the relay holds the client's PSK for its new key`);
      assert.ok(await pingThrough(bed, t), `-kem ${kem}: ping through the upgraded tunnel`);
      const routes = await bed.wg(t.relay.namespace).peerRoutes(t.relay.iface);
      assert.deepEqual(routes.find((p) => p.publicKey === ephemeral)?.allowedIps, [`${t.client.address}/32`], `-kem ${kem}: the relay routes the client's address to the new key`);

      // What a user reads when the upgrade is run again (a second PostUp, a re-run by hand).
      const again = await runMullvadClient(bed, t.client.namespace, t.client.iface, kem);
      assert.deepEqual([again.exitCode, again.stdout, again.stderr], [1, '', 'unable to upgrade tunnel, peer has already been upgraded'], `-kem ${kem}, run twice`);
      assert.equal(await clientWg.publicKey(t.client.iface), ephemeral, `-kem ${kem}, run twice: the key is left as it was`);

      ctx.diagnostic(`-kem ${kem}: upgraded in ${ms} ms (process wall), PSK ${clientFingerprint} on both ends, pinged`);
      await backToParent(bed, t, parentKey);
    }
  } finally {
    parentKey.fill(0);
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('Mullvad\'s own client, started the moment a restarted relay accepts TCP, is served: 5 restarts, 5 upgrades', {
  skip: e2eSkip() || mullvadSkip(),
}, async (ctx) => {
  requireBed();
  requireMullvadClient();
  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-mullvad-startup-'));
  const { bed, topology: t } = await buildSingleHop();
  const clientWg = bed.wg(t.client.namespace);
  const parentKey = await clientWg.readPrivateKey(t.client.iface);
  try {
    assert.ok(await pingThrough(bed, t), 'ping on the parent key before the relay starts');
    const outcomes: string[] = [];
    for (let round = 1; round <= 5; round++) {
      // The client waits for the port while the relay starts; neither waits for the other.
      const client = runMullvadClientWhenPortAccepts(bed, t.client.namespace, t.client.iface);
      const relay = await startRelayServer(bed, t.relay, stateDir);
      const run = await client;
      outcomes.push(`round ${round}: exit ${run.exitCode}${run.stderr === '' ? '' : `, "${run.stderr.trim()}"`}`);
      if (run.exitCode === 0) {
        assert.ok(await pingThrough(bed, t), `round ${round}: ping through the upgraded tunnel`);
        await backToParent(bed, t, parentKey);
      }
      // A relay restart: the next round's client meets a relay that is starting again.
      await relay.stop();
    }
    ctx.diagnostic(outcomes.join('; '));
    assert.deepEqual(outcomes, [1, 2, 3, 4, 5].map((round) => `round ${round}: exit 0`));
  } finally {
    parentKey.fill(0);
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
});
