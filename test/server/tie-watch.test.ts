/** The relay's watch over handshake ties: when it reads the counters, what it concludes, when it stops. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TieWatch } from '../../src/server/tie-watch.js';

const TIE = { parent: 'P', second: 1000, members: ['P', 'E1'], holder: null };

function counting(): { watch: TieWatch; reads: () => number; rx: Map<string, number> } {
  const rx = new Map([['P', 0], ['E1', 0]]);
  let reads = 0;
  const watch = new TieWatch(async (peers) => {
    reads++;
    return new Map([...peers].map((k) => [k, rx.get(k) ?? 0]));
  });
  return { watch, reads: () => reads, rx };
}

test('a tie is judged on a window between two reads after it was seen, keeps its verdict while idle, and settles after its second', async () => {
  const { watch, reads, rx } = counting();
  assert.equal(await watch.observe([TIE], 1_000_400), false, 'the first read is only a baseline');
  assert.equal(watch.received, undefined);
  assert.ok(watch.watching && watch.urgent(1_000_400, 10_000));
  rx.set('P', 464);
  assert.equal(await watch.observe([TIE], 1_000_650), true, 'the parent moved alone: a verdict');
  assert.deepEqual(watch.received, new Map([['P', 464], ['E1', 0]]));
  assert.equal(await watch.observe([TIE], 1_000_900), false, 'an idle window changes nothing');
  assert.deepEqual(watch.received, new Map([['P', 464], ['E1', 0]]));
  assert.ok(watch.watching, 'not settled: the window began inside the tied second');
  rx.set('P', 928);
  await watch.observe([TIE], 1_001_150);
  rx.set('P', 1392);
  await watch.observe([TIE], 1_001_400);
  assert.equal(watch.watching, false, 'settled by a window that began after the second');
  const settledAt = reads();
  await watch.observe([TIE], 1_001_650);
  assert.equal(reads(), settledAt, 'a settled tie is not read again');
  assert.equal((await watch.observe([], 1_001_900), watch.received), undefined, 'an ended tie is forgotten');
});

test('both members moving decides nothing; an old undecided tie stops asking for fast polls; no reader, no reads', async () => {
  const { watch, rx } = counting();
  await watch.observe([TIE], 1_000_400);
  rx.set('P', 100);
  rx.set('E1', 100);
  assert.equal(await watch.observe([TIE], 1_000_650), false);
  assert.equal(watch.received, undefined);
  assert.ok(watch.urgent(1_005_000, 10_000));
  assert.ok(watch.watching && !watch.urgent(1_011_000, 10_000), 'idle for 10 s: read at the idle pace');
  const blind = new TieWatch(null);
  assert.equal(await blind.observe([TIE], 1_000_400), false);
  assert.equal(blind.watching, false);
});

test('kernel: frame errors rising under a silent holder decide without settling; the counters then settle it', async () => {
  const rx = new Map([['P', 0], ['E1', 0]]);
  let frames = 10;
  let frameReads = 0;
  const watch = new TieWatch(
    async (peers) => new Map([...peers].map((k) => [k, rx.get(k) ?? 0])),
    async () => {
      frameReads++;
      return frames;
    },
  );
  const held = { ...TIE, holder: 'E1' };
  await watch.observe([held], 1_000_400);
  frames = 14;
  assert.equal(await watch.observe([held], 1_000_650), true, 'the client sends on P, dropped as from E1\'s address');
  assert.deepEqual(watch.received, new Map([['P', 4], ['E1', 0]]));
  await watch.observe([held], 1_001_150);
  frames = 20;
  await watch.observe([held], 1_001_400);
  assert.ok(watch.watching, 'frame errors name no peer: never settled by them');
  // The relay moved the addresses to P: its data now counts on it.
  const moved = { ...TIE, holder: 'P' };
  rx.set('P', 1000);
  frames = 30;
  assert.equal(await watch.observe([moved], 1_001_650), false, 'same winner: nothing new to plan');
  assert.equal(watch.watching, false, 'settled by P\'s own counter');
  const before = frameReads;
  await watch.observe([moved], 1_001_900);
  assert.equal(frameReads, before, 'a settled tie reads no frame errors either');
});
