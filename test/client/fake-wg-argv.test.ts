/**
 * A whole negotiation — a switch, then (next run) a switch and its rollback — whose
 * `wg set` invocations go to the fake `wg` executable (test/fixtures/fake-wg/wg), which
 * records argv, stdin, environment and what it read from each key path. Reads come from
 * the in-memory fake, which mirrors every set so the simulated tunnel behaves.
 * Proves: no private key or PSK in any argv, stdin or environment; each one arrived
 * through a FIFO in a 0700 directory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClientKems } from '../../src/client/kems.js';
import { negotiate } from '../../src/client/negotiate.js';
import type { HopSpec } from '../../src/client/types.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { fakeWgLog, RecordingWg } from '../fixtures/recording-wg.js';
import { clientInterface, SimNetwork, startTestRelay, wgKeypair } from './helpers.js';

const log = fakeWgLog('pqpsk-client-fake-wg');

function forms(key: Uint8Array): string[] {
  const b = Buffer.from(key);
  return [b.toString('base64'), b.toString('hex'), b.toString('base64url'), b.toString('base64').slice(0, 20)];
}

test('fake wg executable: switch and rollback hand every secret over FIFOs, none on argv, stdin or env', async () => {
  const mem = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(mem, 'wg0', relayKey, '10.64.0.1/32');
  const wg = new RecordingWg(mem);
  const kems = createClientKems(['ML-KEM-1024', 'HQC-256']);
  const hop = (address: string): HopSpec => ({ role: 'single', iface: 'wg0', peer: null, service: address });

  const good = await startTestRelay('good');
  const bad = await startTestRelay('wrong-ciphertext');
  try {
    const net1 = new SimNetwork(mem, new Map([[good.address, { iface: 'wg0', relayPeer: relayKey, relay: good, parentPublicKey: parent.publicKey }]]));
    await negotiate({ hops: [hop(good.address)], maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 1500 }, { wg, kems, probe: net1 });
    // Second run from the ephemeral key: this relay answers wrong ciphertexts → switch, then
    // rollback to the parent key (the PSK of the key the run found is never read back).
    const net2 = new SimNetwork(mem, new Map([[bad.address, { iface: 'wg0', relayPeer: relayKey, relay: bad, parentPublicKey: parent.publicKey }]]));
    await assert.rejects(
      negotiate(
        { hops: [hop(bad.address)], maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 400, parentKeys: new Map([['wg0', Uint8Array.from(parent.privateKey)]]) },
        { wg, kems, probe: net2 },
      ),
    );
    assert.equal((await mem.show('wg0')).publicKey, parent.publicKey, 'rolled back to the parent key');
  } finally {
    good.close();
    bad.close();
  }

  const runs = log.runs();
  assert.equal(runs.length, 3, 'switch, switch, rollback');
  assert.equal(wg.secrets.length, 5, 'each switch carried a private key and a PSK, the rollback the parent key (its PSK cleared)');
  const secretForms = [parent.privateKey, ...wg.secrets].flatMap(forms);
  for (const run of runs) {
    const visible = [...run.argv, run.stdin].join(' ');
    for (const f of secretForms) assert.ok(!visible.includes(f), `a secret appeared in argv/stdin: ${run.argv.join(' ')}`);
    assert.deepEqual(run.envKeyShaped, []);
    assert.deepEqual(run.argv.slice(0, 3), ['set', 'wg0', 'private-key']);
  }
  for (const run of runs.slice(0, 2)) {
    assert.deepEqual(run.secretPaths.map((p) => [p.after, p.isFifo, p.dirMode]), [
      ['private-key', true, '700'],
      ['preshared-key', true, '700'],
    ]);
  }
  assert.deepEqual(runs[2]!.secretPaths.map((p) => [p.after, p.isFifo, p.path]), [
    ['private-key', true, runs[2]!.secretPaths[0]!.path],
    ['preshared-key', false, '/dev/null'],
  ], 'the rollback clears the PSK through /dev/null');
  // What wg read through the FIFOs is exactly the keys handed over, in order.
  const delivered = runs.flatMap((r) => r.secretPaths.filter((p) => p.isFifo === true).map((p) => (p.content ?? '').trim()));
  assert.deepEqual(delivered, wg.secrets.map((s) => Buffer.from(s).toString('base64')));
  for (const s of wg.secrets) s.fill(0);
});
