/**
 * The relay plans a large book slice by slice (familySlices, then joinPlans) so that a
 * watcher pass never holds the event loop for the whole book. Whatever the book and the
 * interface, the joined plan must be exactly the plan of the whole book: same changes in
 * the same order, same events, same book.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { familySlices, joinPlans, sameBook, slicePlanUnchanged } from '../../src/protocol/plan-slices.js';
import { planTick } from '../../src/protocol/plan-tick.js';
import type { RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerRoute } from '../../src/protocol/wg-peer.js';
import { isPqpskError } from '../../src/errors.js';
import { seedFromEnv } from '../fuzz/harness.js';

const KEYS = Array.from({ length: 10 }, (_, i) => `${String.fromCharCode(65 + i).repeat(42)}A=`);
const ADDRESSES = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '10.0.0.4/32', 'fc00::1/128'];
const TIMEOUTS = { pendingMs: 120_000, idleMs: 600_000 };
const NOW = 1_000_000_000;

const key = fc.integer({ min: 0, max: KEYS.length - 1 }).map((k) => KEYS[k]!);
const addresses = fc.subarray(ADDRESSES);

/** A book, possibly odd (duplicate parents, ephemerals of unrecorded parents, a key in two roles). */
const book: fc.Arbitrary<RelayBook> = fc.record({
  parents: fc.array(fc.record({ parent: key, allowedIps: addresses }), { maxLength: 8 }),
  ephemerals: fc.array(fc.record({ ephemeral: key, parent: key, registeredAt: fc.integer({ min: NOW - 900_000, max: NOW }) }), { maxLength: 10 }),
});

/** An interface: each key present or not, each address on at most one peer, handshakes old or fresh. */
const view: fc.Arbitrary<WgPeerRoute[]> = fc
  .record({
    present: fc.array(fc.boolean(), { minLength: KEYS.length, maxLength: KEYS.length }),
    holder: fc.array(fc.integer({ min: -1, max: KEYS.length - 1 }), { minLength: ADDRESSES.length, maxLength: ADDRESSES.length }),
    handshake: fc.array(fc.constantFrom(0, NOW / 1000 - 800, NOW / 1000 - 5, NOW / 1000 - 5.5), { minLength: KEYS.length, maxLength: KEYS.length }),
  })
  .map(({ present, holder, handshake }) =>
    KEYS.flatMap((publicKey, k) => (present[k] === true ? [{ publicKey, allowedIps: ADDRESSES.filter((_, a) => holder[a] === k), latestHandshake: handshake[k]! }] : [])),
  );

const seed = seedFromEnv(20_261_128);

test(`planning a book slice by slice gives exactly the whole book's plan (seed ${seed})`, () => {
  fc.assert(
    fc.property(book, view, fc.integer({ min: 1, max: 4 }), (b, peers, size) => {
      const whole = planTick(b, peers, NOW, TIMEOUTS);
      const sliced = joinPlans(familySlices(b, size).map((slice) => planTick(slice, peers, NOW, TIMEOUTS)));
      assert.deepEqual(sliced, whole);
    }),
    { seed, numRuns: 2000 },
  );
});

test(`slices whose plans each change nothing, holding every ephemeral once, mean the whole plan changes nothing (seed ${seed})`, () => {
  let unchanged = 0;
  // A book as a pass leaves it (planning it again mostly changes nothing), then maybe
  // an orphaned ephemeral or a parent recorded twice, which only the whole book shows.
  const odd = fc.record({ orphan: fc.option(key), twice: fc.option(fc.nat({ max: 7 })) });
  fc.assert(
    fc.property(book, view, fc.integer({ min: 1, max: 4 }), odd, (first, peers, size, { orphan, twice }) => {
      const settled = planTick(first, peers, NOW, TIMEOUTS).book;
      const again = twice === null ? undefined : settled.parents[twice];
      const b: RelayBook = {
        parents: again === undefined ? settled.parents : [...settled.parents, again],
        ephemerals: orphan === null ? settled.ephemerals : [...settled.ephemerals, { ephemeral: orphan, parent: 'not-recorded', registeredAt: NOW }],
      };
      const slices = familySlices(b, size);
      const plans = slices.map((slice) => planTick(slice, peers, NOW, TIMEOUTS));
      const bySlices = plans.every((plan, i) => slicePlanUnchanged(slices[i]!, plan)) && slices.reduce((n, slice) => n + slice.ephemerals.length, 0) === b.ephemerals.length;
      const whole = joinPlans(plans);
      const wholeUnchanged = whole.changes.length === 0 && whole.events.length === 0 && sameBook(b, whole.book);
      if (bySlices) {
        unchanged++;
        assert.ok(wholeUnchanged, 'the slices said nothing changed, the whole plan changes something');
      }
      // A book of distinct parents, each with its ephemerals: the slices tell exactly what the whole tells.
      if (new Set(b.parents.map((p) => p.parent)).size === b.parents.length && b.ephemerals.every((e) => b.parents.some((p) => p.parent === e.parent))) {
        assert.equal(bySlices, wholeUnchanged);
      }
    }),
    { seed, numRuns: 3000 },
  );
  assert.ok(unchanged > 300, `only ${unchanged} runs had nothing to change`);
});

test('a book no larger than one slice is not copied, and slice sizes are checked', () => {
  const b: RelayBook = { parents: [{ parent: KEYS[0]!, allowedIps: [] }], ephemerals: [] };
  assert.equal(familySlices(b, 1)[0], b);
  assert.throws(() => familySlices(b, 0), (e: unknown) => isPqpskError(e, 'INVALID_INPUT'));
});
