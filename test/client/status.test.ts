/**
 * `pqpsk status` on the in-memory fake: the verdict and the PSK line agree, several peers
 * without --peer is a question back (exit 2) rather than a verdict about no peer, and the
 * config service shows when a watcher knows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { statusText } from '../../src/cli/commands/status-run.js';
import { readTunnelStatus } from '../../src/client/status.js';
import type { WatchStatus } from '../../src/client/watch.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, wgKeypair } from './helpers.js';
import { rejection } from '../fixtures/errors.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const noWatcher = { askHolder: async () => null, now: () => NOW };

/** wg0 on an ephemeral key with a PSK for its relay and a handshake 10 s ago. */
async function onEphemeral(): Promise<{ wg: FakeWgControl; relayKey: string; parent: string; ephemeral: string }> {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '0.0.0.0/0');
  const ephemeral = wgKeypair();
  await wg.set('wg0', { privateKey: ephemeral.privateKey, peers: [{ publicKey: relayKey, presharedKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1) }] });
  wg.setLatestHandshake('wg0', relayKey, NOW / 1000 - 10);
  return { wg, relayKey, parent: parent.publicKey, ephemeral: ephemeral.publicKey };
}

test('protected without a watcher: the PSK line says a PSK is set, never "(no PSK)"', async () => {
  const { wg } = await onEphemeral();
  const s = await readTunnelStatus('wg0', null, { wg, ...noWatcher });
  assert.equal(s.protected, true);
  assert.equal(s.psk, true);
  const text = statusText(s);
  assert.match(text, /^wg0: post-quantum protected \(no watcher running\)$/m);
  assert.match(text, /^ {2}PSK fingerprint {2}\(a PSK is set; only the watcher that negotiated it knows its fingerprint\)$/m);
  assert.doesNotMatch(text, /no PSK/);
  assert.match(text, /^ {2}config service {3}\(known to a running watcher only\)$/m);
});

test('on the parent key: NOT protected, and "(no PSK)"', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  await clientInterface(wg, 'wg0', relayKey, '0.0.0.0/0');
  wg.setLatestHandshake('wg0', relayKey, NOW / 1000 - 10);
  const text = statusText(await readTunnelStatus('wg0', null, { wg, ...noWatcher }));
  assert.match(text, /^wg0: NOT post-quantum protected/);
  assert.match(text, /PSK fingerprint {2}\(no PSK\)$/m);
});

test('two peers and no --peer: asks for --peer listing both keys (exit 2), instead of a verdict about no peer', async () => {
  const { wg, relayKey } = await onEphemeral();
  const other = wgKeypair().publicKey;
  await wg.set('wg0', { peers: [{ publicKey: other, allowedIps: ['192.168.77.2/32'] }] });
  const err = await rejection(readTunnelStatus('wg0', null, { wg, ...noWatcher }));
  assert.equal(err.message, `wg0 has 2 peers; name the relay with --peer, one of: ${relayKey}, ${other}`);
  assert.equal(exitCodeFor(err), 2);
  const chosen = await readTunnelStatus('wg0', relayKey, { wg, ...noWatcher });
  assert.equal(chosen.protected, true, 'with --peer the relay is read');
  const unknown = await rejection(readTunnelStatus('wg0', wgKeypair().publicKey, { wg, ...noWatcher }));
  assert.equal(exitCodeFor(unknown), 2);
  assert.match(unknown.message, /^wg0: no peer with the public key given by --peer \(its peers: /);
});

test('with a watcher: its fingerprint and config service are shown', async () => {
  const { wg, parent, ephemeral } = await onEphemeral();
  const watch: WatchStatus = {
    phase: 'protected',
    protected: true,
    onEphemeral: true,
    negotiatedAt: NOW - 60_000,
    nextRotationAt: NOW + 3_000_000,
    rotations: 0,
    recoveries: 0,
    lastError: null,
    hops: [{ role: 'single', interface: 'wg0', service: '10.8.0.1:1337', publicKey: ephemeral, parentPublicKey: parent, pskFingerprint: '0123456789abcdef' }],
  };
  const s = await readTunnelStatus('wg0', null, { wg, now: () => NOW, askHolder: async () => ({ pid: 4242, mode: 'watch', leaving: false, interfaces: {}, status: watch }) });
  assert.equal(s.configService, '10.8.0.1:1337');
  const text = statusText(s);
  assert.match(text, /^wg0: post-quantum protected \(watcher pid 4242, protected\)$/m);
  assert.match(text, /^ {2}PSK fingerprint {2}0123456789abcdef$/m);
  assert.match(text, /^ {2}config service {3}10\.8\.0\.1:1337$/m);
});
