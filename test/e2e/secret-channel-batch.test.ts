/**
 * End-to-end: the secret channel against the real `wg` and wireguard-go. A relay's batch
 * hands hundreds of PSKs to one `wg set`, one FIFO each, fed in the order `wg` opens
 * them; every peer must end with its own PSK, and a `wg` that exits before it opens a
 * FIFO must leave the writer free, not waiting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Bed } from '../../src/testbed/index.js';
import { readPresharedKeys } from '../../src/testbed/psk-read.js';
import { isPqpskError } from '../../src/errors.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import type { WgPeerChange } from '../../src/wg/types.js';
import { e2eSkip, requireBed } from './gate.js';

describe('e2e against real wireguard-go: a batch of PSKs through the secret channel', { skip: e2eSkip() }, () => {
  test('256 peers with a PSK each in one wg set, twice: each peer holds its own PSK; a wg that exits before reading frees the writer', async () => {
    requireBed();
    const bed = new Bed();
    try {
      const ns = await bed.addNamespace('solo');
      const iface = `pqsc${bed.suffix}`;
      await bed.addWireguard(ns, iface);
      const wg = bed.wg(ns);
      for (let round = 0; round < 2; round++) {
        const psks = new Map<string, Uint8Array>();
        const peers: WgPeerChange[] = [];
        for (let i = 0; i < 256; i++) {
          const peer = publicKeyToText(randomBytes(32));
          const psk = Uint8Array.from(randomBytes(32));
          psks.set(peer, Uint8Array.from(psk));
          peers.push({ publicKey: peer, presharedKey: psk });
        }
        await wg.set(iface, { peers });
        const held = await readPresharedKeys(iface, { netns: ns });
        for (const [peer, psk] of psks) assert.deepEqual(held.get(peer), psk, `round ${round + 1}: the PSK of ${peer.slice(0, 8)}`);
      }
      // No such interface: `wg` exits before it opens its first FIFO; the set fails, not hangs.
      const started = Date.now();
      const err: unknown = await wg
        .set(`pqno${bed.suffix}`, { peers: [{ publicKey: publicKeyToText(randomBytes(32)), presharedKey: Uint8Array.from(randomBytes(32)) }] })
        .then(() => null, (e: unknown) => e);
      assert.ok(isPqpskError(err), 'a typed error');
      assert.ok(Date.now() - started < 5000, 'well before the 10 s timeout');
    } finally {
      assert.deepEqual((await bed.teardown()).leftovers, []);
    }
  });
});
