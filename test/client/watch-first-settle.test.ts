/**
 * What `negotiate --background` tells the user comes from the first of two events of its
 * watcher: its first attempt settled ("keeps trying", exit 0) or it failed (exit 2 for
 * a local error). A watcher whose run fails — here its config service is routed outside
 * the tunnel, so it refuses to send anything — must produce the failure only, never a
 * "stopped" settle that reaches the parent first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClientKems } from '../../src/client/kems.js';
import { TunnelWatcher } from '../../src/client/watch.js';
import { DEFAULT_POLICY } from '../../src/client/watch-policy.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, SimNetwork, simWatchDeps, startTestRelay, wgKeypair } from './helpers.js';

test('a watcher whose route is refused reports the failure, not a first attempt that settled', async () => {
  const relay = await startTestRelay('good');
  try {
    const wg = new FakeWgControl();
    const relayKey = wgKeypair().publicKey;
    const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
    const net = new SimNetwork(wg, new Map([[relay.address, { iface: 'wg0', relayPeer: relayKey, relay, parentPublicKey: parent.publicKey }]]));
    const watcher = await TunnelWatcher.open(
      { hops: [{ role: 'single', iface: 'wg0', peer: null, service: relay.address }], policy: DEFAULT_POLICY, timeoutScale: 1, verifyTimeoutMs: 1500, tickMs: 2000, probeTimeoutMs: 2000 },
      simWatchDeps(wg, createClientKems(['ML-KEM-1024']), net, () => undefined, { routeDevice: async () => 'eth0' }),
    );
    // In the order the --background parent would hear them.
    const heard: string[] = [];
    void watcher.firstSettled().then(({ ok, message }) => heard.push(`settled ok=${ok}: ${message}`));
    await watcher.run().then(
      () => heard.push('ran to the end'),
      (err: Error) => heard.push(`failed (exit ${exitCodeFor(err)}): ${err.message}`),
    );
    await new Promise((resolve) => setImmediate(resolve));
    watcher.close();
    assert.deepEqual(heard, [`failed (exit 2): config service ${relay.address} is routed through eth0, not through wg0: refusing to send the request outside the tunnel`]);
    assert.equal(relay.registrations.length, 0, 'nothing was sent');
  } finally {
    relay.close();
  }
});
