/**
 * End-to-end: the in-memory FakeWgControl that server/client unit tests rely on must read
 * back exactly like real wireguard-go after the same sequence of `set`s.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Bed } from '../../src/testbed/index.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import type { WgControl, WgInterfaceState, WgPeerChange } from '../../src/wg/types.js';
import { e2eSkip, requireBed } from './gate.js';

const key = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (seed * 37 + i * 11 + 5) & 0xff);
const pub = (seed: number): string => publicKeyToText(publicKeyOf(key(seed)));

/** Peer order is a Go map's in wireguard-go, so compare sorted. */
function normal(s: WgInterfaceState): unknown {
  return { publicKey: s.publicKey, listenPort: s.listenPort, peers: [...s.peers].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)) };
}

describe('e2e against real wireguard-go: the fake WgControl is faithful', { skip: e2eSkip() }, () => {
  test('real wireguard-go vs FakeWgControl: same state after the same sets (allowed-ips moves, PSK, keepalive, keys)', async () => {
    requireBed();
    const bed = new Bed();
    try {
      const ns = await bed.addNamespace('solo');
      const iface = `pqwf${bed.suffix}`;
      await bed.addWireguard(ns, iface);
      const real = bed.wg(ns);
      await real.setListenPort(iface, 51820);
      const fake = new FakeWgControl();
      fake.addInterface(iface, { listenPort: 51820 });
      const both: WgControl[] = [real, fake];
      const A = pub(1);
      const B = pub(2);
      const C = pub(3);
      const steps: { privateKey?: Uint8Array; peers?: WgPeerChange[] }[] = [
        { privateKey: key(10) },
        {
          peers: [
            { publicKey: A, allowedIps: ['10.64.0.2', 'fc00::2/128', '10.1.2.3/8'] },
            { publicKey: B, endpoint: '198.51.100.9:4000', persistentKeepalive: 25, presharedKey: key(20) },
          ],
        },
        { peers: [{ publicKey: B, allowedIps: ['10.64.0.2/32', 'FC00:0::2/128'] }] },
        // (An all-zero PSK is refused by both before any `wg` runs: WireGuard would read it as none.)
        { peers: [{ publicKey: A, presharedKey: null }, { publicKey: C, endpoint: '[fd00::1]:51820', allowedIps: ['10.9.9.9/8'] }] },
        { peers: [{ publicKey: B, persistentKeepalive: 0, presharedKey: null }] },
        { peers: [{ publicKey: A, remove: true }, { publicKey: pub(10), allowedIps: ['10.200.0.1/32'] }] },
        { peers: [{ publicKey: C, allowedIps: [] }, { publicKey: A, allowedIps: ['10.64.0.2/32'] }] },
        { privateKey: key(2) }, // its public key is B's: B disappears
      ];
      for (const [i, step] of steps.entries()) {
        for (const wg of both) await wg.set(iface, step);
        assert.deepEqual(normal(await fake.show(iface)), normal(await real.show(iface)), `after step ${i + 1}`);
        assert.deepEqual([...(await fake.latestHandshakes(iface))].sort(), [...(await real.latestHandshakes(iface))].sort());
      }
      assert.deepEqual(await fake.readPrivateKey(iface), await real.readPrivateKey(iface));
    } finally {
      assert.deepEqual((await bed.teardown()).leftovers, []);
    }
  });
});
