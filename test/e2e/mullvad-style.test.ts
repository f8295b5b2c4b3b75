/**
 * End-to-end: `pqpsk server` on the real bed answers a client that shares none of pqpsk's
 * client, protocol or KEM code (test/fixtures/mullvad-style-client.ts), for every
 * combination Mullvad's clients send. Each time: both ends hold the same PSK, the client
 * switches to the new key and PSK, and a ping crosses the tunnel. The parent named in every
 * request is the key in the client's config, as Mullvad's clients do; from the second
 * request on, the relay recognises the source as that parent's live ephemeral peer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pskFingerprint } from '../../src/kem/psk.js';
import { buildSingleHop, peerPskFingerprint, startRelayServer } from '../../src/testbed/index.js';
import { MULLVAD_COMBINATIONS } from '../fixtures/mullvad-style-client.js';
import { e2eSkip, requireBed } from './gate.js';

const CHILD = fileURLToPath(new URL('./mullvad-style-child.js', import.meta.url));

test('a Mullvad-style client gets the same PSK from pqpsk server for every combination, switches, and pings', { skip: e2eSkip() }, async (ctx) => {
  requireBed();
  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-mullvad-'));
  const { bed, topology: t } = await buildSingleHop();
  try {
    await startRelayServer(bed, t.relay, stateDir);
    const wg = bed.wg(t.client.namespace);
    for (const names of MULLVAD_COMBINATIONS) {
      const started = performance.now();
      const run = await bed.runIn(t.client.namespace, [process.execPath, CHILD, `${t.relay.gateway}:1337`, t.client.publicKey, names.join(',')], {
        timeoutMs: 120_000,
      });
      assert.equal(run.exitCode, 0, `[${names.join(', ')}]: ${run.stderr}`);
      const out = JSON.parse(run.stdout) as { privateKey: string; publicKey: string; psk: string };
      const privateKey = new Uint8Array(Buffer.from(out.privateKey, 'base64'));
      const psk = new Uint8Array(Buffer.from(out.psk, 'base64'));
      const clientFingerprint = pskFingerprint(psk);
      assert.equal(await peerPskFingerprint(t.relay.namespace, t.relay.iface, out.publicKey), clientFingerprint, `[${names.join(', ')}]: same PSK on both ends`);
      await wg.set(t.client.iface, { privateKey, peers: [{ publicKey: t.relay.publicKey, presharedKey: psk }] });
      privateKey.fill(0);
      psk.fill(0);
      assert.equal(await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey), clientFingerprint);
      // The relay moves the allowed-ips to the new peer once it handshakes: ping until then.
      let pinged = false;
      for (let i = 0; i < 15 && !pinged; i++) pinged = (await bed.ping(t.client.namespace, t.relay.gateway, { count: 1, waitSeconds: 1 })).exitCode === 0;
      assert.ok(pinged, `[${names.join(', ')}]: ping through the switched tunnel`);
      ctx.diagnostic(`[${names.join(', ')}]: PSK ${clientFingerprint} on both ends, switched and pinged in ${Math.round(performance.now() - started)} ms`);
    }
  } finally {
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
});
