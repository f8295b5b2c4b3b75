/** The relay's reads: public-key, and the per-peer forms parsed a slice at a time, and their join. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import fc from 'fast-check';
import { PerPeerLines, allowedIpsParser, latestHandshakesParser, parsePublicKey, type PerPeerParser } from '../../src/wg/per-peer-parse.js';
import { PeerRouteJoin } from '../../src/wg/peer-route-join.js';
import { seedFromEnv } from '../fuzz/harness.js';
import { sample } from './helpers.js';

const HANDSHAKE_PEER = '0IOqqjztRytqd82uE6nrQ0Y2D5FR3IFkEe2H0SQIbTU=';

test('latest-handshakes: recorded, empty, zero', () => {
  const m = latestHandshakesParser('wg9', sample('many-peers.latest-handshakes.txt')).finish();
  assert.equal(m.size, 15);
  assert.equal(m.get(HANDSHAKE_PEER), 1795317768);
  assert.equal([...m.values()].filter((v) => v === 0).length, 14);
  assert.equal(latestHandshakesParser('wg9', sample('fresh.latest-handshakes.txt')).finish().size, 0);
});

test('malformed per-peer output is a WG_FAILURE naming line and field', () => {
  assert.throws(() => latestHandshakesParser('wg9', `${HANDSHAKE_PEER}\tsoon\n`).finish(), /line 1 latest handshake is not a non-negative integer/);
  assert.throws(() => latestHandshakesParser('wg9', `${HANDSHAKE_PEER}\n`).finish(), /line 1 has 1 fields, expected 2/);
});

test('allowed-ips and public-key output: the relay\'s secret-free reads', () => {
  const a = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const b = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=';
  const ips = allowedIpsParser('wg0', `${a}\t10.64.0.2/32 fc00::2/128\n${b}\t(none)\n`).finish();
  assert.deepEqual([...ips], [[a, ['10.64.0.2/32', 'fc00::2/128']], [b, []]]);
  const joined = joinAll(ips, new Map([[a, 1700000000]]));
  assert.deepEqual(joined, [
    { publicKey: a, allowedIps: ['10.64.0.2/32', 'fc00::2/128'], latestHandshake: 1700000000 },
    { publicKey: b, allowedIps: [], latestHandshake: 0 },
  ]);
  assert.throws(() => allowedIpsParser('wg0', 'not-a-key\t(none)\n').finish(), /allowed-ips` output: line 1 public key is not a WireGuard key/);
  assert.equal(parsePublicKey('wg0', `${a}\n`), a);
  assert.equal(parsePublicKey('wg0', '(none)\n'), '');
  assert.throws(() => parsePublicKey('wg0', 'junk\n'), /public-key` output: not a WireGuard key/);
});

/** What a parse gives: the map, or the error message. */
function outcome(parse: () => ReadonlyMap<string, unknown>): unknown {
  try {
    return [...parse()];
  } catch (err) {
    return isPqpskError(err) ? err.message : String(err);
  }
}

test(`per-peer parses that reuse the previous output's lines give exactly what a fresh parse gives (seed ${seedFromEnv(20_261_128)})`, () => {
  const keys = ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=', HANDSHAKE_PEER, 'not-a-key'];
  const line = fc.tuple(fc.constantFrom(...keys), fc.constantFrom('0', '1700000000', '1700000001', '(none)', '10.64.0.2/32 fc00::2/128', 'x\ty', ''));
  const output = fc.array(line, { maxLength: 6 }).map((ls) => ls.map(([k, v]) => `${k}\t${v}\n`).join(''));
  fc.assert(
    fc.property(fc.array(output, { minLength: 1, maxLength: 6 }), (outputs) => {
      const handshakeLines = new PerPeerLines<number>();
      const ipLines = new PerPeerLines<readonly string[]>();
      for (const text of outputs) {
        const bytes = new TextEncoder().encode(text);
        assert.deepEqual(outcome(() => latestHandshakesParser('wg0', bytes, handshakeLines).finish()), outcome(() => latestHandshakesParser('wg0', bytes).finish()));
        assert.deepEqual(outcome(() => allowedIpsParser('wg0', bytes, ipLines).finish()), outcome(() => allowedIpsParser('wg0', bytes).finish()));
      }
    }),
    { seed: seedFromEnv(20_261_128), numRuns: 300 },
  );
});

/** Run `parser` in slices of `size` lines, as the relay does between its yields. */
function sliced<T>(parser: PerPeerParser<T>, size: number, lines: number): ReadonlyMap<string, T> {
  let steps = 1;
  while (!parser.step(size)) steps++;
  assert.ok(steps <= Math.max(1, Math.ceil(lines / size)), 'each step parses its whole slice');
  return parser.result;
}

test(`per-peer parses run a slice of lines at a time give exactly the whole parse, also when parsers of one form interleave (seed ${seedFromEnv(20_261_128)})`, () => {
  const keys = ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=', 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=', HANDSHAKE_PEER, 'not-a-key'];
  const line = fc.tuple(fc.constantFrom(...keys), fc.constantFrom('0', '1700000000', '1700000001', '(none)', '10.64.0.2/32 fc00::2/128', 'x\ty'));
  const output = fc.array(line, { maxLength: 8 }).map((ls) => ls.map(([k, v]) => `${k}\t${v}\n`).join(''));
  fc.assert(
    fc.property(fc.array(fc.tuple(output, output), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 4 }), (reads, size) => {
      const handshakeLines = new PerPeerLines<number>();
      const ipLines = new PerPeerLines<readonly string[]>();
      for (const [first, second] of reads) {
        const [a, b] = [new TextEncoder().encode(first), new TextEncoder().encode(second)];
        // Two reads of one form in flight at once (the watcher's and a batch's), stepped in turn.
        const ha = latestHandshakesParser('wg0', a, handshakeLines);
        const hb = latestHandshakesParser('wg0', b, handshakeLines);
        const ia = allowedIpsParser('wg0', a, ipLines);
        const ib = allowedIpsParser('wg0', b, ipLines);
        const [na, nb] = [first.split('\n').length - 1, second.split('\n').length - 1];
        assert.deepEqual(outcome(() => sliced(ha, size, na)), outcome(() => latestHandshakesParser('wg0', a).finish()));
        assert.deepEqual(outcome(() => sliced(ia, size, na)), outcome(() => allowedIpsParser('wg0', a).finish()));
        assert.deepEqual(outcome(() => sliced(hb, size, nb)), outcome(() => latestHandshakesParser('wg0', b).finish()));
        assert.deepEqual(outcome(() => sliced(ib, size, nb)), outcome(() => allowedIpsParser('wg0', b).finish()));
      }
    }),
    { seed: seedFromEnv(20_261_128), numRuns: 300 },
  );
});

test(`joining the two reads a slice of peers at a time gives every allowed-ips peer, in order, with its handshake or 0 (seed ${seedFromEnv(20_261_128)})`, () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  fc.assert(
    fc.property(
      fc.array(fc.tuple(key, fc.subarray(['10.0.0.1/32', 'fc00::1/128'])), { maxLength: 6 }),
      fc.array(fc.tuple(key, fc.nat({ max: 3 })), { maxLength: 6 }),
      fc.integer({ min: 1, max: 4 }),
      (ipEntries, handshakeEntries, size) => {
        const ips = new Map(ipEntries);
        const handshakes = new Map(handshakeEntries);
        const expected = [...ips].map(([publicKey, allowedIps]) => ({ publicKey, allowedIps, latestHandshake: handshakes.get(publicKey) ?? 0 }));
        const join = new PeerRouteJoin(ips, handshakes);
        let steps = 1;
        while (!join.step(size)) steps++;
        assert.deepEqual(join.result, expected);
        assert.ok(steps <= Math.floor(ips.size / size) + 1, 'each step joins its whole slice');
        assert.deepEqual(joinAll(ips, handshakes), expected);
      },
    ),
    { seed: seedFromEnv(20_261_128), numRuns: 500 },
  );
});

test('a parser parses exactly its slice per step', () => {
  const text = ['A', 'B', 'C'].map((c) => `${c.repeat(42)}A=\t${c === 'B' ? 0 : 1700000000}\n`).join('');
  const parser = latestHandshakesParser('wg0', text);
  assert.equal(parser.step(2), false);
  assert.equal(parser.result.size, 2);
  assert.equal(parser.done, false);
  assert.equal(parser.step(2), true);
  assert.deepEqual([...parser.result.values()], [1700000000, 0, 1700000000]);
});

test('an output byte for byte the last one is not parsed again: its map is the last map', () => {
  const a = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const text = `${a}\t1700000000\n`;
  const lines = new PerPeerLines<number>();
  const first = latestHandshakesParser('wg0', text, lines).finish();
  const again = latestHandshakesParser('wg0', new TextEncoder().encode(text), lines);
  assert.equal(again.done, true, 'nothing left to parse');
  assert.equal(again.result, first);
  const changed = latestHandshakesParser('wg0', `${a}\t1700000001\n`, lines).finish();
  assert.notEqual(changed, first);
  assert.equal(changed.get(a), 1700000001);
  // A failed parse never becomes the last output.
  assert.throws(() => latestHandshakesParser('wg0', `${a}\tsoon\n`, lines).finish(), /latest handshake is not a non-negative integer/);
  assert.equal(latestHandshakesParser('wg0', `${a}\t1700000001\n`, lines).finish(), changed);
});

test('an unchanged line of the next read hands back the value parsed last time', () => {
  const a = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const b = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=';
  const lines = new PerPeerLines<readonly string[]>();
  const first = allowedIpsParser('wg0', `${a}\t10.64.0.2/32\n${b}\t10.64.0.3/32\n`, lines).finish();
  const second = allowedIpsParser('wg0', `${b}\t10.64.0.4/32\n${a}\t10.64.0.2/32\n`, lines).finish();
  assert.equal(second.get(a), first.get(a));
  assert.deepEqual(second.get(b), ['10.64.0.4/32']);
});

/** The join of the two reads in one go, as the relay makes it a slice at a time. */
function joinAll(ips: ReadonlyMap<string, readonly string[]>, handshakes: ReadonlyMap<string, number>): PeerRouteJoin['result'] {
  const join = new PeerRouteJoin(ips, handshakes);
  join.step(Number.POSITIVE_INFINITY);
  return join.result;
}
