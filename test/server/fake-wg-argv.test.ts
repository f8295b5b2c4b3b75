/**
 * The relay's `wg set`s go to the fake `wg` executable (test/fixtures/fake-wg/wg), which
 * records argv, stdin, key-shaped environment values and what it read from each key path;
 * reads come from the in-memory fake, which mirrors every set. Proves, for registrations
 * (a replacement included), a swap and a removal: no PSK in any argv, stdin or
 * environment; each PSK arrived through a FIFO in a 0700 directory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { MemoryLogger } from '../../src/server/log.js';
import { Relay } from '../../src/server/relay.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { fakeWgLog, RecordingWg } from '../fixtures/recording-wg.js';
import { IFACE, P_IPS, TestClock, provider, registerDirect, secretForms, wgKeypair } from './helpers.js';

const log = fakeWgLog('pqpsk-server-fake-wg');

test('fake wg executable: relay registrations, swap and removal hand every PSK over a FIFO, none on argv, stdin or env', async () => {
  const mem = new FakeWgControl();
  mem.addInterface(IFACE, { privateKey: wgKeypair().privateKey });
  const P = wgKeypair();
  await mem.set(IFACE, { peers: [{ publicKey: P.publicKey, allowedIps: P_IPS }] });
  const wg = new RecordingWg(mem);
  const clock = new TestClock();
  const relay = await Relay.open({ iface: IFACE, wg, store: new MemoryBookStore(), kems: provider, logger: new MemoryLogger(), clock: clock.now, rateLimit: null });

  const first = await registerDirect(relay, P.raw, '10.64.0.2', ['ML-KEM-1024', 'HQC-256']);
  const second = await registerDirect(relay, P.raw, '10.64.0.2'); // replaces the pending first
  clock.advance(1000);
  mem.setLatestHandshake(IFACE, second.ephemeral.publicKey, clock.seconds);
  await relay.tick(); // swap: allowed-ips to the ephemeral
  clock.advance(2000);
  mem.setLatestHandshake(IFACE, P.publicKey, clock.seconds);
  await relay.tick(); // swap back: allowed-ips to the parent, ephemeral removed
  await relay.close();

  const runs = log.runs();
  assert.equal(runs.length, 4, 'two registrations, a swap, a swap back');
  const psks = [first.psk, second.psk];
  assert.equal(wg.secrets.length, 2);
  for (const [i, psk] of psks.entries()) assert.ok(Buffer.from(wg.secrets[i]!).equals(Buffer.from(psk)), 'the PSK wg received is the client\'s');

  for (const run of runs) {
    const visible = [run.argv.join(' '), run.stdin, run.envKeyShaped.join(' ')].join('\n');
    for (const psk of psks) for (const form of secretForms(psk)) assert.ok(!visible.includes(form), `no PSK in: ${run.argv.join(' ')}`);
    assert.deepEqual(run.envKeyShaped, []);
    assert.equal(run.stdin, '');
  }
  // Registrations: `wg set <if> peer <E> preshared-key <fifo>` (+ `peer <old> remove`).
  assert.deepEqual(runs[0]!.argv.slice(0, 4), ['set', IFACE, 'peer', first.ephemeral.publicKey]);
  assert.equal(runs[0]!.argv[4], 'preshared-key');
  assert.ok(!runs[0]!.argv.includes('allowed-ips'), 'a new ephemeral gets no allowed-ips');
  assert.ok(runs[1]!.argv.join(' ').endsWith(`peer ${first.ephemeral.publicKey} remove`));
  for (const [i, run] of runs.slice(0, 2).entries()) {
    assert.equal(run.secretPaths.length, 1);
    const slot = run.secretPaths[0]!;
    assert.equal(slot.after, 'preshared-key');
    assert.equal(slot.isFifo, true);
    assert.equal(slot.dirMode, '700');
    assert.equal(slot.content, `${Buffer.from(psks[i]!).toString('base64')}\n`, 'the key came through the pipe');
  }
  // Swaps carry no secret at all.
  for (const run of runs.slice(2)) assert.deepEqual(run.secretPaths, []);
  assert.ok(runs[2]!.argv.join(' ').includes(`peer ${second.ephemeral.publicKey} allowed-ips ${P_IPS.join(',')}`));
  for (const psk of psks) psk.fill(0);
});
