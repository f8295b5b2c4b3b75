/**
 * The relay's cached view is updated in place — by each read and by each `wg set` it
 * carries out — never rebuilt. Driven through random changes of an in-memory interface,
 * it must always answer as an index built afresh from that interface.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerIndex } from '../../src/protocol/peer-index.js';
import { InterfaceView } from '../../src/server/interface-view.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import type { WgPeerChange } from '../../src/wg/types.js';
import { seedFromEnv } from '../fuzz/harness.js';

const IFACE = 'pqview0';
const KEYS = Array.from({ length: 5 }, (_, i) => `${String.fromCharCode(97 + i).repeat(42)}A=`);
const CIDRS = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '10.0.0.0/28', 'fc00::1/128', 'fc00::/64'];
const PROBES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.9', '10.0.1.1', 'fc00::1', 'fc00::7'];

type Step =
  | { readonly kind: 'set'; readonly changes: WgPeerChange[] }
  | { readonly kind: 'handshake'; readonly key: number; readonly seconds: number }
  | { readonly kind: 'read' };

const change: fc.Arbitrary<WgPeerChange> = fc.oneof(
  fc.record({ publicKey: fc.constantFrom(...KEYS), remove: fc.constant(true) }),
  fc.record({ publicKey: fc.constantFrom(...KEYS), allowedIps: fc.subarray(CIDRS) }),
  fc.record({ publicKey: fc.constantFrom(...KEYS) }),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), changes: fc.array(change, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('handshake' as const), key: fc.nat({ max: KEYS.length - 1 }), seconds: fc.constantFrom(0, 1_000, 2_000) }),
  fc.constant({ kind: 'read' as const }),
);

async function sameAsInterface(view: InterfaceView, wg: FakeWgControl): Promise<void> {
  const peers = await wg.peerRoutes(IFACE);
  const fresh = new PeerIndex(peers);
  const index = view.index;
  assert.deepEqual([...index.keys()].sort(), [...fresh.keys()].sort());
  for (const p of peers) {
    const mine = index.get(p.publicKey)!;
    assert.deepEqual([...mine.allowedIps].sort(), [...p.allowedIps].sort(), `allowed-ips of ${p.publicKey.slice(0, 4)}`);
  }
  for (const ip of PROBES) assert.equal(index.routeOwner(ip), fresh.routeOwner(ip), `route owner of ${ip}`);
  for (const cidr of CIDRS) assert.equal(index.holderOf(cidr), fresh.holderOf(cidr), `holder of ${cidr}`);
}

const seed = seedFromEnv(20_261_128);

test(`interface view: reads and applied \`wg set\`s keep it equal to the interface (seed ${seed})`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      const wg = new FakeWgControl({ record: false });
      wg.addInterface(IFACE);
      let now = 5_000_000;
      const view = new InterfaceView(wg, IFACE, { now: () => now, setTimer: () => () => undefined });
      await view.refresh();
      for (const s of steps) {
        now += 300;
        if (s.kind === 'set') {
          await wg.set(IFACE, { peers: s.changes });
          view.apply(s.changes);
        } else if (s.kind === 'handshake') {
          if (!(await wg.peerRoutes(IFACE)).some((p) => p.publicKey === KEYS[s.key])) continue;
          wg.setLatestHandshake(IFACE, KEYS[s.key]!, s.seconds);
        } else {
          await view.refresh();
          const handshakes = new Map((await wg.peerRoutes(IFACE)).map((p) => [p.publicKey, p.latestHandshake]));
          for (const [key, seconds] of handshakes) assert.equal(Math.floor(view.index.get(key)!.latestHandshake), seconds);
        }
        await sameAsInterface(view, wg);
      }
    }),
    { seed, numRuns: 200 },
  );
});

/**
 * Drive a reference view and a sliced one through `steps` on one interface: sets applied
 * to both, each read handed to `read` to install on each its own way; after every step
 * the two indexes must be the same, down to their versions and routes.
 */
async function lockstep(steps: readonly Step[], read: (wg: FakeWgControl, whole: InterfaceView, sliced: InterfaceView) => Promise<void>): Promise<void> {
  const wg = new FakeWgControl({ record: false });
  wg.addInterface(IFACE);
  let now = 5_000_000;
  const clock = { now: () => now, setTimer: () => () => undefined };
  const whole = new InterfaceView(wg, IFACE, clock);
  const sliced = new InterfaceView(wg, IFACE, clock);
  for (const s of steps) {
    now += 300;
    if (s.kind === 'set') {
      await wg.set(IFACE, { peers: s.changes });
      whole.apply(s.changes);
      sliced.apply(s.changes);
    } else if (s.kind === 'handshake') {
      if (!(await wg.peerRoutes(IFACE)).some((p) => p.publicKey === KEYS[s.key])) continue;
      wg.setLatestHandshake(IFACE, KEYS[s.key]!, s.seconds);
    } else {
      await read(wg, whole, sliced);
    }
    const [a, b] = [whole.index, sliced.index];
    assert.deepEqual(b.peers, a.peers);
    assert.equal(b.version, a.version);
    for (const ip of PROBES) assert.equal(b.routeOwner(ip), a.routeOwner(ip), `route owner of ${ip}`);
    for (const cidr of CIDRS) assert.equal(b.holderOf(cidr), a.holderOf(cidr), `holder of ${cidr}`);
    assert.equal(sliced.fullReadAt, whole.fullReadAt);
  }
}

test(`interface view: a read installed a slice at a time gives the index a whole install gives (seed ${seed})`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 3 }), async (steps, size) => {
      await lockstep(steps, async (wg, whole, sliced) => {
        const read = await wg.peerRoutes(IFACE);
        await whole.installInSlices(read, Number.POSITIVE_INFINITY);
        await sliced.installInSlices(read, size);
      });
    }),
    { seed, numRuns: 200 },
  );
});

test(`interface view: handshakes-only reads installed a slice at a time, or installed again, give what one whole install gives (seed ${seed})`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 3 }), async (steps, size) => {
      let previous: ReadonlyMap<string, number> | undefined;
      await lockstep(steps, async (wg, whole, sliced) => {
        // An older read first, as a pass that read before a `wg set` might install it.
        if (previous !== undefined) {
          const a = await whole.installHandshakes(new Map(previous), Number.POSITIVE_INFINITY);
          assert.equal((await sliced.installHandshakes(previous, size)) === null, a === null);
        }
        const read = await wg.latestHandshakes(IFACE);
        previous = read;
        // A copy for the reference view: it never takes the shortcut for a map it installed before.
        const a = await whole.installHandshakes(new Map(read), Number.POSITIVE_INFINITY);
        assert.equal((await sliced.installHandshakes(read, size)) === null, a === null);
        // The same map again: the sliced view may skip it, and must end as the reference.
        assert.equal((await sliced.installHandshakes(read, size)) === null, a === null);
        if (a === null) {
          await whole.installInSlices(await wg.peerRoutes(IFACE), Number.POSITIVE_INFINITY);
          await sliced.installInSlices(await wg.peerRoutes(IFACE), size);
        }
      });
    }),
    { seed, numRuns: 200 },
  );
});

test('interface view: a second read of an unchanged interface leaves the index as it was', async () => {
  const wg = new FakeWgControl({ record: false });
  wg.addInterface(IFACE);
  await wg.set(IFACE, { peers: [{ publicKey: KEYS[0]!, allowedIps: ['10.0.0.1/32'] }, { publicKey: KEYS[1]! }] });
  wg.setLatestHandshake(IFACE, KEYS[0]!, 1_000);
  let now = 1_000_400;
  const view = new InterfaceView(wg, IFACE, { now: () => now, setTimer: () => () => undefined });
  await view.refresh();
  const version = view.index.version;
  const entry = view.index.get(KEYS[0]!);
  now += 250;
  await view.refresh();
  assert.equal(view.index.version, version);
  assert.equal(view.index.get(KEYS[0]!), entry);
  assert.equal(view.index.get(KEYS[0]!)!.latestHandshake, 1_000.4);
});

test('interface view: a handshakes-only read updates handshakes in place, and declines when a peer came or went', async () => {
  const wg = new FakeWgControl({ record: false });
  wg.addInterface(IFACE);
  await wg.set(IFACE, { peers: [{ publicKey: KEYS[0]!, allowedIps: ['10.0.0.1/32'] }, { publicKey: KEYS[1]! }] });
  const now = 2_000_500;
  const view = new InterfaceView(wg, IFACE, { now: () => now, setTimer: () => () => undefined });
  await view.refresh();
  assert.equal(view.fullReadAt, now);

  wg.setLatestHandshake(IFACE, KEYS[1]!, 2_000);
  // The operator moves an address meanwhile: a handshakes-only read does not see it.
  await wg.set(IFACE, { peers: [{ publicKey: KEYS[0]!, allowedIps: ['10.0.0.2/32'] }] });
  const index = await view.installHandshakes(await view.readHandshakes());
  assert.ok(index !== null);
  assert.equal(index.get(KEYS[1]!)!.latestHandshake, 2_000.5);
  assert.deepEqual(index.get(KEYS[0]!)!.allowedIps, ['10.0.0.1/32']);

  await wg.set(IFACE, { peers: [{ publicKey: KEYS[2]! }] });
  const version = view.index.version;
  assert.equal(await view.installHandshakes(await view.readHandshakes()), null);
  assert.equal(view.index.version, version);
  await wg.set(IFACE, { peers: [{ publicKey: KEYS[2]!, remove: true }, { publicKey: KEYS[1]!, remove: true }, { publicKey: KEYS[3]! }] });
  assert.equal(await view.installHandshakes(await view.readHandshakes()), null);
  await view.refresh();
  assert.deepEqual(view.index.get(KEYS[0]!)!.allowedIps, ['10.0.0.2/32']);
});
