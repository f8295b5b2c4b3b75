/** The test bed's dump parser: `wg show <if> dump` text in, typed peers out, secrets never kept. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { maskDumpSecrets, parseDump } from '../../src/testbed/wg-dump.js';
import { sample } from '../wg/helpers.js';

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
});
