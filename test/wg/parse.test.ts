import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import fc from 'fast-check';
import { maskDumpSecrets, parseDump } from '../../src/testbed/wg-dump.js';
import { parseSummary } from '../../src/wg/parse-summary.js';
import { PerPeerLines, allowedIpsParser, latestHandshakesParser, parsePublicKey, type PerPeerParser } from '../../src/wg/per-peer-parse.js';
import { PeerRouteJoin } from '../../src/wg/peer-route-join.js';
import { seedFromEnv } from '../fuzz/harness.js';
import { sample } from './helpers.js';

const HANDSHAKE_PEER = '0IOqqjztRytqd82uE6nrQ0Y2D5FR3IFkEe2H0SQIbTU=';

test('dump of a fresh wireguard-go interface: (none) keys, no peers', () => {
  assert.deepEqual(parseDump('wg9', sample('fresh.dump.txt')), { name: 'wg9', publicKey: '', listenPort: 41326, peers: [] });
});

test('dump with a key and no peers', () => {
  const s = parseDump('wg9', sample('no-peers.dump.txt'));
  assert.equal(s.publicKey, 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=');
  assert.equal(s.listenPort, 51820);
  assert.deepEqual(s.peers, []);
});

test('dump with many peers: PSK presence, IPv6, (none), off keepalive, handshake counters', () => {
  const s = parseDump('wg9', sample('many-peers.dump.txt'));
  assert.equal(s.peers.length, 15);
  const hs = s.peers.find((p) => p.publicKey === HANDSHAKE_PEER)!;
  assert.deepEqual(hs, {
    publicKey: HANDSHAKE_PEER,
    hasPresharedKey: true,
    endpoint: '198.51.100.2:36932',
    allowedIps: ['10.64.0.2/32', 'fc00:bbbb:bbbb:bb01::2/128'],
    latestHandshake: 1795317768,
    rxBytes: 404,
    txBytes: 348,
    persistentKeepalive: null,
  });
  const v6 = s.peers.find((p) => p.endpoint === '[fd00:1::7]:40001')!;
  assert.equal(v6.persistentKeepalive, 25);
  assert.deepEqual(v6.allowedIps, ['fc00:bbbb:bbbb:bb01::7/128']);
  const bare = s.peers.find((p) => p.publicKey === 'gzjxbTze9Juwzq9OU6VksPNXCRWdRk3DatSVg1nCmiA=')!;
  assert.deepEqual(bare, {
    publicKey: 'gzjxbTze9Juwzq9OU6VksPNXCRWdRk3DatSVg1nCmiA=',
    hasPresharedKey: false,
    endpoint: null,
    allowedIps: [],
    latestHandshake: 0,
    rxBytes: 0,
    txBytes: 0,
    persistentKeepalive: null,
  });
  assert.equal(s.peers.filter((p) => p.latestHandshake === 0).length, 14);
  assert.equal(s.peers.filter((p) => p.hasPresharedKey).length, 1);
});

test('parsed dump holds no private key or PSK', () => {
  const text = sample('many-peers.dump.txt');
  const privateKey = text.split('\t')[0]!;
  const psk = text.split('\n').find((l) => l.startsWith(HANDSHAKE_PEER))!.split('\t')[1]!;
  const json = JSON.stringify(parseDump('wg9', text));
  assert.ok(!json.includes(privateKey));
  assert.ok(!json.includes(psk));
});

test('maskDumpSecrets blanks the private key and PSKs in place and parsing still works', () => {
  const text = sample('many-peers.dump.txt');
  const privateKey = text.split('\t')[0]!;
  const psk = text.split('\n').find((l) => l.startsWith(HANDSHAKE_PEER))!.split('\t')[1]!;
  const bytes = new TextEncoder().encode(text);
  maskDumpSecrets(bytes);
  const masked = new TextDecoder().decode(bytes);
  assert.ok(!masked.includes(privateKey) && !masked.includes(psk));
  assert.equal(masked.split('\t')[0], '*'.repeat(44));
  assert.deepEqual(parseDump('wg9', masked), parseDump('wg9', text));
  // (none) stays (none); nothing else changes.
  const fresh = new TextEncoder().encode(sample('fresh.dump.txt'));
  maskDumpSecrets(fresh);
  assert.equal(new TextDecoder().decode(fresh), sample('fresh.dump.txt'));
  assert.equal(masked.replace(/\*{44}/g, 'X').length, text.length - 2 * 43);
});

test('latest-handshakes: recorded, empty, zero', () => {
  const m = latestHandshakesParser('wg9', sample('many-peers.latest-handshakes.txt')).finish();
  assert.equal(m.size, 15);
  assert.equal(m.get(HANDSHAKE_PEER), 1795317768);
  assert.equal([...m.values()].filter((v) => v === 0).length, 14);
  assert.equal(latestHandshakesParser('wg9', sample('fresh.latest-handshakes.txt')).finish().size, 0);
});

test('malformed output is a WG_FAILURE naming line and field, without the text', () => {
  const good = sample('one-peer-handshake.dump.txt');
  const lines = good.split('\n');
  const cases: [string, RegExp][] = [
    ['', /: empty$/],
    [`${lines[0]}\n${lines[1]!.split('\t').slice(0, 7).join('\t')}\n`, /line 2 has 7 fields, expected 8/],
    [`${lines[0]}\n${lines[1]!.replace('\t348\t', '\t-1\t')}\n`, /line 2 transfer-rx is not a non-negative integer/],
    [`${lines[0]}\n${lines[1]!.replace(/^[^\t]+/, 'notakey')}\n`, /line 2 public key is not a WireGuard key/],
    [`${lines[0]!.replace('\t36932\t', '\tport\t')}\n`, /line 1 listen port/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseDump('wg9', text),
      (err: unknown) => isPqpskError(err, 'WG_FAILURE') && re.test(err.message) && !err.message.includes(lines[0]!.split('\t')[0]!),
      String(re),
    );
  }
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

test('`wg show <if>`: public key, peers in order and which have a PSK, from the keys-hidden form', () => {
  assert.deepEqual(parseSummary('c10wg0', Buffer.from(sample('two-peers.show.txt'))), {
    name: 'c10wg0',
    publicKey: 'DCjrpWJKgnTivu+BkK6W08O2kf0tsKiMIWK9mwxjOmo=',
    peers: [
      { publicKey: 'ic6Kxws41/Z2GzwZSJxLI5jxTedffKcfFg43VRZIqVE=', hasPresharedKey: true },
      { publicKey: 'oFYrz8e/tySc60r8PQy/FL0w4Ib4FOjOVoksLscSVS0=', hasPresharedKey: false },
    ],
  });
  // An interface with no private key prints neither key line.
  assert.deepEqual(parseSummary('wg9', Buffer.from('interface: wg9\n  listening port: 41326\n')), { name: 'wg9', publicKey: '', peers: [] });
});

test('`wg show <if>` that prints a private key or PSK (WG_HIDE_KEYS=never) is wiped and refused, naming the line only', () => {
  const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  for (const [label, line] of [['  private key: (hidden)', 3], ['  preshared key: (hidden)', 7]] as const) {
    const bytes = Buffer.from(sample('two-peers.show.txt').replace(label, label.replace('(hidden)', key)));
    assert.throws(
      () => parseSummary('c10wg0', bytes),
      (err: unknown) => isPqpskError(err, 'WG_FAILURE') && err.message === `\`wg show c10wg0\` output: line ${line} shows a key instead of (hidden) (WG_HIDE_KEYS=never?)`,
    );
    assert.ok(bytes.every((b) => b === 0), 'the output is wiped');
  }
  assert.throws(() => parseSummary('wg0', Buffer.from('peer: x\n')), /line 1 is not an interface line/);
  assert.throws(() => parseSummary('wg0', Buffer.from('interface: wg0\n\npeer: not-a-key\n')), /line 3 public key is not a WireGuard key/);
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
