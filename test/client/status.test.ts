/**
 * `pqpsk status` on the in-memory fake: the verdict and the PSK line agree — a PSK counts
 * only on a key pqpsk switched to (a watcher's, or one a one-shot run noted) — several peers
 * without --peer is a question back (exit 2) rather than a verdict about no peer, and the
 * config service shows when a watcher knows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { statusText } from '../../src/cli/commands/status-run.js';
import { readKeyNote, writeKeyNote } from '../../src/client/key-note.js';
import { lockPath } from '../../src/client/lock.js';
import { readTunnelStatus } from '../../src/client/status.js';
import type { WatchStatus } from '../../src/client/watch.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, wgKeypair } from './helpers.js';
import { rejection } from '../fixtures/errors.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const noWatcher = { askHolder: async () => null, readKeyNote: async () => null, now: () => NOW };

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

test('a static (classical) PSK on the parent key, no watcher: NOT protected, and the PSK line says pqpsk did not set it', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '0.0.0.0/0');
  await wg.set('wg0', { peers: [{ publicKey: relayKey, presharedKey: new Uint8Array(32).fill(7) }] });
  wg.setLatestHandshake('wg0', relayKey, NOW / 1000 - 10);
  const s = await readTunnelStatus('wg0', null, { wg, ...noWatcher });
  assert.deepEqual({ protected: s.protected, psk: s.psk, pskOrigin: s.pskOrigin }, { protected: false, psk: true, pskOrigin: 'unknown' });
  assert.equal(
    statusText(s),
    [
      'wg0: NOT post-quantum protected (no watcher running)',
      `  public key       ${parent.publicKey}`,
      "  PSK fingerprint  (a PSK is set, but not by pqpsk on this key: a static or another tool's PSK, not known to be post-quantum)",
      `  latest handshake ${new Date(NOW - 10_000).toISOString()}`,
      '  config service   (known to a running watcher only)',
    ].join('\n'),
  );
});

test('on a key a one-shot run switched to, no watcher: protected, with the fingerprint and service it noted', async () => {
  const { wg, relayKey, parent, ephemeral } = await onEphemeral();
  const note = { hop: { role: 'single', interface: 'wg0', service: '10.64.0.1:1337', publicKey: ephemeral, parentPublicKey: parent, pskFingerprint: '0123456789abcdef' }, peer: relayKey, negotiatedAt: NOW - 60_000 };
  const s = await readTunnelStatus('wg0', null, { wg, ...noWatcher, readKeyNote: async () => note });
  assert.deepEqual({ protected: s.protected, pskOrigin: s.pskOrigin, negotiatedAt: s.negotiatedAt }, { protected: true, pskOrigin: 'pqpsk', negotiatedAt: new Date(NOW - 60_000).toISOString() });
  const text = statusText(s);
  assert.match(text, /^wg0: post-quantum protected \(no watcher running\)$/m);
  assert.match(text, /^ {2}PSK fingerprint {2}0123456789abcdef$/m);
  assert.match(text, /^ {2}config service {3}10\.64\.0\.1:1337$/m);

  // The note of another key (the interface was switched since, by something else): origin unknown.
  const other = { ...note, hop: { ...note.hop, publicKey: wgKeypair().publicKey } };
  const later = await readTunnelStatus('wg0', null, { wg, ...noWatcher, readKeyNote: async () => other });
  assert.deepEqual({ protected: later.protected, pskOrigin: later.pskOrigin, pskFingerprint: later.pskFingerprint }, { protected: false, pskOrigin: 'unknown', pskFingerprint: null });
  // And with no note at all: a PSK on a key pqpsk cannot vouch for.
  const none = await readTunnelStatus('wg0', null, { wg, ...noWatcher });
  assert.equal(none.protected, false);
  assert.match(statusText(none), /^wg0: NOT post-quantum protected \(no watcher running\)$/m);
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
  assert.deepEqual({ peer: chosen.peer, psk: chosen.psk }, { peer: relayKey, psk: true }, 'with --peer the relay is read');
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

test('the note a one-shot run leaves: read back whole; one that is not a regular file of ours with one link, or has a bad field, is no note', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pqpsk-note-test-')), 'run');
  const note = { hop: { role: 'single', interface: 'wg0', service: '10.64.0.1:1337', publicKey: wgKeypair().publicKey, parentPublicKey: wgKeypair().publicKey, pskFingerprint: '0123456789abcdef' }, peer: wgKeypair().publicKey, negotiatedAt: NOW };
  assert.equal(await readKeyNote('wg0', dir), null, 'no directory yet');
  await writeKeyNote(note, dir);
  const path = lockPath('wg0', dir, 'key');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(await readKeyNote('wg0', dir), note);
  assert.equal(await readKeyNote('wg1', dir), null, 'another interface has none');
  linkSync(path, `${path}.second`);
  assert.equal(await readKeyNote('wg0', dir), null, 'two links');
  rmSync(`${path}.second`);
  writeFileSync(path, JSON.stringify({ ...note, hop: { ...note.hop, pskFingerprint: '\u001b[2K' } }));
  assert.equal(await readKeyNote('wg0', dir), null, 'a bad field');
  rmSync(path);
  symlinkSync('/etc/hostname', path);
  assert.equal(await readKeyNote('wg0', dir), null, 'a symlink');
});
