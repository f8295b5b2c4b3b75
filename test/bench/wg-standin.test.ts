/**
 * The benchmark's `wg` stand-in: the interface it keeps (allowed-ips move between peers as
 * in WireGuard, its text parses with the relay's own parsers), and the server with its
 * thin `wg` driven by the production WgControl — reads, a `wg set` whose PSK goes through
 * a real FIFO, a batch of PSKs read in argv order, a `wg set` abandoned before its key
 * came, and the forms that print a secret refused and counted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StandinInterface } from '../fixtures/standin-interface.js';
import { WgStandin } from '../../bench/harness/wg-standin.js';
import { isPqpskError } from '../../src/errors.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import { allowedIpsParser, latestHandshakesParser, parsePublicKey } from '../../src/wg/per-peer-parse.js';
import { BedWgControl } from '../../src/testbed/wg-dump.js';

const key = (): string => publicKeyToText(randomBytes(32));

describe('the stand-in interface', () => {
  const [own, a, b, c] = [key(), key(), key(), key()];
  const start = (): StandinInterface =>
    new StandinInterface({
      publicKey: own,
      privateKey: null,
      peers: [
        { publicKey: a, psk: null, allowedIps: ['10.0.0.1/32', '10.0.0.2/32'], latestHandshake: 7 },
        { publicKey: b, psk: 'x', allowedIps: [], latestHandshake: 0 },
      ],
    });

  test('its `wg show` text reads back through the relay\'s parsers', () => {
    const wg = start();
    assert.equal(parsePublicKey('wg0', wg.show('wg0', 'public-key', true)!), own);
    assert.deepEqual(allowedIpsParser('wg0', wg.show('wg0', 'allowed-ips', true)!).finish(), new Map([[a, ['10.0.0.1/32', '10.0.0.2/32']], [b, []]]));
    assert.deepEqual(latestHandshakesParser('wg0', wg.show('wg0', 'latest-handshakes', true)!).finish(), new Map([[a, 7], [b, 0]]));
    assert.equal(wg.show('wg0', 'endpoints', true), null, 'a form it does not know');
  });

  test('an allowed-ip given to a peer leaves its holder; a removed peer frees what it held', () => {
    const wg = start();
    wg.set(['peer', c, 'preshared-key', '/k', 'allowed-ips', '10.0.0.2/32', 'peer', b, 'allowed-ips', '10.0.0.9/32'], (p) => (p === '/k' ? 'psk\n' : ''));
    assert.deepEqual(allowedIpsParser('wg0', wg.show('wg0', 'allowed-ips', true)!).finish(), new Map([[a, ['10.0.0.1/32']], [b, ['10.0.0.9/32']], [c, ['10.0.0.2/32']]]));
    assert.match(wg.show('wg0', 'preshared-keys', true)!, new RegExp(`^${c.replace(/[+/]/g, '\\$&')}\tpsk$`, 'm'));
    wg.set(['peer', c, 'remove', 'peer', a, 'allowed-ips', '10.0.0.1/32,10.0.0.2/32'], () => '');
    assert.equal(wg.size, 2);
    assert.deepEqual(allowedIpsParser('wg0', wg.show('wg0', 'allowed-ips', true)!).finish().get(a), ['10.0.0.1/32', '10.0.0.2/32']);
    // An address c held before its removal is free again: giving it to b takes it from no one else.
    wg.set(['peer', b, 'allowed-ips', '10.0.0.2/32'], () => '');
    assert.deepEqual(allowedIpsParser('wg0', wg.show('wg0', 'allowed-ips', true)!).finish(), new Map([[a, ['10.0.0.1/32']], [b, ['10.0.0.2/32']]]));
  });
});

describe('the stand-in server and its `wg`', () => {
  const runtime = mkdtempSync(join(tmpdir(), 'pqpsk-standin-run-'));
  process.env['PQPSK_RUNTIME_DIR'] = runtime;
  after(() => {
    delete process.env['PQPSK_RUNTIME_DIR'];
    rmSync(runtime, { recursive: true, force: true });
  });

  test('answers the relay\'s reads and sets, and refuses and counts the forms that print a secret', async () => {
    const [own, parent, ephemeral] = [key(), key(), key()];
    const standin = await WgStandin.start('pqstand0', own, [{ publicKey: parent, allowedIps: ['127.1.0.1/32'], latestHandshake: 0, psk: false }]);
    try {
      const wg = new BedWgControl({ wgPath: standin.wgPath });
      assert.equal(await wg.publicKey('pqstand0'), own);
      // The PSK goes through the runner's FIFO, which the server reads like `wg` does.
      const psk = randomBytes(32);
      await wg.set('pqstand0', { peers: [{ publicKey: ephemeral, presharedKey: psk, allowedIps: ['127.1.0.1/32'] }, { publicKey: parent, allowedIps: [] }] });
      assert.deepEqual(await wg.peerRoutes('pqstand0'), [
        { publicKey: parent, allowedIps: [], latestHandshake: 0 },
        { publicKey: ephemeral, allowedIps: ['127.1.0.1/32'], latestHandshake: 0 },
      ]);
      for (const read of [() => wg.show('pqstand0'), () => wg.readPrivateKey('pqstand0')]) {
        await assert.rejects(read(), (err: unknown) => isPqpskError(err) && err.code === 'WG_FAILURE');
      }
      await assert.rejects(wg.publicKey('pqother0'), (err: unknown) => isPqpskError(err) && err.code === 'NOT_FOUND');
      const counts = await standin.counts();
      assert.deepEqual(counts.calls, { 'show public-key': 1, set: 1, 'show allowed-ips': 1, 'show latest-handshakes': 1 });
      assert.equal(counts.refusedSecret, 2);
      assert.equal(counts.unsupported, 1);
      assert.equal(counts.peers, 2);
    } finally {
      await standin.stop();
    }
  });

  test('reads a batch of PSKs from their FIFOs, one after another, and sets each', async () => {
    const standin = await WgStandin.start('pqstand1', key(), []);
    try {
      const wg = new BedWgControl({ wgPath: standin.wgPath });
      const peers = Array.from({ length: 64 }, () => ({ publicKey: key(), presharedKey: randomBytes(32), allowedIps: [] }));
      await wg.set('pqstand1', { peers });
      const summary = await wg.summary('pqstand1');
      assert.deepEqual(
        summary.peers.map((p) => [p.publicKey, p.hasPresharedKey]),
        peers.map((p) => [p.publicKey, true]),
      );
    } finally {
      await standin.stop();
    }
  });

  test('a `wg set` killed before its key came changes nothing, and the stand-in goes on answering', async () => {
    const [own, ephemeral] = [key(), key()];
    const standin = await WgStandin.start('pqstand2', own, []);
    const dir = mkdtempSync(join(tmpdir(), 'pqpsk-standin-fifo-'));
    try {
      // A FIFO nobody will write: the reader waits in open() until its client is gone.
      const fifo = join(dir, 'psk');
      execFileSync('mkfifo', ['-m', '600', fifo]);
      const abandoned = spawn(standin.wgPath, ['set', 'pqstand2', 'peer', ephemeral, 'preshared-key', fifo], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      abandoned.kill('SIGKILL');
      await new Promise((resolve) => abandoned.once('exit', resolve));
      const wg = new BedWgControl({ wgPath: standin.wgPath });
      assert.equal(await wg.publicKey('pqstand2'), own);
      assert.deepEqual((await wg.summary('pqstand2')).peers, []);
      await wg.set('pqstand2', { peers: [{ publicKey: ephemeral, presharedKey: randomBytes(32), allowedIps: [] }] });
      assert.deepEqual((await wg.summary('pqstand2')).peers.map((p) => [p.publicKey, p.hasPresharedKey]), [[ephemeral, true]]);
    } finally {
      await standin.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
