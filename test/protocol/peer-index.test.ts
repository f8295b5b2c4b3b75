/**
 * The peer index is kept up to date peer by peer; whatever order a change between two
 * interface states is applied in, it must answer exactly as an index built afresh from
 * the final state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerIndex } from '../../src/protocol/peer-index.js';
import type { WgPeerRoute } from '../../src/protocol/wg-peer.js';
import { seedFromEnv } from '../fuzz/harness.js';

const KEYS = Array.from({ length: 6 }, (_, i) => `${String.fromCharCode(65 + i).repeat(42)}A=`);
const CIDRS = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '10.0.0.0/28', '10.0.0.0/24', '0.0.0.0/0', 'fc00::1/128', 'fc00::2/128', 'fc00::/64'];
const PROBES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.9', '10.0.0.200', '192.0.2.1', 'fc00::1', 'fc00::2', 'fc00::9', '2001:db8::1', 'not-an-ip'];

/** An interface state: which keys are peers, who holds each CIDR (unique, as on WireGuard), handshakes. */
const state = fc
  .record({
    present: fc.array(fc.boolean(), { minLength: KEYS.length, maxLength: KEYS.length }),
    holder: fc.array(fc.integer({ min: -1, max: KEYS.length - 1 }), { minLength: CIDRS.length, maxLength: CIDRS.length }),
    handshake: fc.array(fc.constantFrom(0, 1000, 1000.5, 2000), { minLength: KEYS.length, maxLength: KEYS.length }),
  })
  .map(({ present, holder, handshake }): WgPeerRoute[] =>
    KEYS.flatMap((publicKey, k) =>
      present[k] === true ? [{ publicKey, allowedIps: CIDRS.filter((_, c) => holder[c] === k), latestHandshake: handshake[k]! }] : [],
    ),
  );

/** The steps from `from` to `to`, in an order the test chooses: puts of what changed, deletes of what went. */
function steps(from: readonly WgPeerRoute[], to: readonly WgPeerRoute[]): ((index: PeerIndex) => void)[] {
  const next = new Map(to.map((p) => [p.publicKey, p]));
  const out: ((index: PeerIndex) => void)[] = [];
  for (const p of to) out.push((index) => index.put(p));
  for (const p of from) if (!next.has(p.publicKey)) out.push((index) => index.delete(p.publicKey));
  return out;
}

function sameAnswers(actual: PeerIndex, expected: PeerIndex): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const key of expected.keys()) assert.deepEqual(actual.get(key), expected.get(key));
  for (const ip of PROBES) assert.equal(actual.routeOwner(ip), expected.routeOwner(ip), `route owner of ${ip}`);
  for (const cidr of CIDRS) assert.equal(actual.holderOf(cidr), expected.holderOf(cidr), `holder of ${cidr}`);
}

const seed = seedFromEnv(20_261_128);

test(`peer index: updated through random states in random orders, it answers as one built afresh (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(state, fc.infiniteStream(fc.nat())), { minLength: 1, maxLength: 8 }), (states) => {
      const index = new PeerIndex([]);
      let previous: WgPeerRoute[] = [];
      for (const [next, order] of states) {
        const todo = steps(previous, next);
        // Shuffle by the generated stream: moves between peers land in either order.
        const draws = order.take(todo.length);
        const shuffled = [...todo.entries()].map(([i, step]) => ({ step, rank: draws.next().value ?? i })).sort((a, b) => a.rank - b.rank);
        for (const { step } of shuffled) step(index);
        sameAnswers(index, new PeerIndex(next));
        previous = next;
      }
    }),
    { seed, numRuns: 300 },
  );
});

test('peer index: version moves only when a put or delete changes something', () => {
  const peer: WgPeerRoute = { publicKey: KEYS[0]!, allowedIps: ['10.0.0.1/32'], latestHandshake: 0 };
  const index = new PeerIndex([]);
  const v0 = index.version;
  index.put(peer);
  assert.notEqual(index.version, v0);
  const v1 = index.version;
  index.put(peer);
  index.delete(KEYS[1]!);
  assert.equal(index.version, v1);
  index.put({ ...peer, latestHandshake: 5 });
  assert.notEqual(index.version, v1);
  assert.equal(index.routeOwner('10.0.0.1'), KEYS[0]);
  index.delete(KEYS[0]!);
  assert.equal(index.routeOwner('10.0.0.1'), null);
  assert.equal(index.holderOf('10.0.0.1/32'), null);
});
