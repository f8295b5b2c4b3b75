/** The client's read: `wg show <if>`, the form for people, with keys hidden. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { parseSummary } from '../../src/wg/parse-summary.js';
import { sample } from './helpers.js';

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
