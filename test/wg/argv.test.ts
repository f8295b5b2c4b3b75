import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import {
  SECRET_PLACEHOLDER,
  checkInterfaceName,
  describeCommand,
  latestHandshakesCommand,
  listenPortCommand,
  privateKeyCommand,
  setCommand,
  showDumpCommand,
} from '../../src/wg/argv.js';
import { testKey } from './helpers.js';

const PEER_A = 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=';
const PEER_B = '0IOqqjztRytqd82uE6nrQ0Y2D5FR3IFkEe2H0SQIbTU=';

test('show commands', () => {
  assert.deepEqual(showDumpCommand('wg0').argv, ['show', 'wg0', 'dump']);
  assert.deepEqual(latestHandshakesCommand('wg0').argv, ['show', 'wg0', 'latest-handshakes']);
  assert.deepEqual(privateKeyCommand('wg0').argv, ['show', 'wg0', 'private-key']);
  assert.deepEqual(listenPortCommand('wg0', 51820).argv, ['set', 'wg0', 'listen-port', '51820']);
});

test('interface names: 1-15 safe characters', () => {
  checkInterfaceName('a');
  checkInterfaceName('pqwgc-abcdef123');
  for (const bad of ['', 'x'.repeat(16), 'wg 0', 'wg/0', '..', 'wg0;rm']) {
    assert.throws(() => checkInterfaceName(bad), /interface name: expected 1-15 characters/);
  }
});

test('set: private key and two PSKs travel as secret-channel paths, in one invocation', () => {
  const priv = testKey(1);
  const psk = testKey(2);
  const cmd = setCommand(
    'wg0',
    {
      privateKey: priv,
      peers: [
        { publicKey: PEER_A, presharedKey: psk, allowedIps: ['10.64.0.2', 'fc00::2/128'], endpoint: '[fd00::1]:51820', persistentKeepalive: 25 },
        { publicKey: PEER_B, presharedKey: null, allowedIps: [] },
      ],
    },
    '/tmp/pqpsk-wg-X',
  );
  assert.deepEqual(cmd.argv, [
    'set', 'wg0', 'private-key', '/tmp/pqpsk-wg-X/0',
    'peer', PEER_A, 'preshared-key', '/tmp/pqpsk-wg-X/1', 'endpoint', '[fd00::1]:51820',
    'persistent-keepalive', '25', 'allowed-ips', '10.64.0.2/32,fc00::2/128',
    'peer', PEER_B, 'preshared-key', '/dev/null', 'allowed-ips', '',
  ]);
  assert.deepEqual(cmd.display.filter((w) => w === SECRET_PLACEHOLDER).length, 2);
  assert.ok(!cmd.display.some((w) => w.startsWith('/tmp/')));
  assert.deepEqual(cmd.secrets.map((s) => [s.path, s.label]), [
    ['/tmp/pqpsk-wg-X/0', 'private key'],
    ['/tmp/pqpsk-wg-X/1', 'peer 1 preshared key'],
  ]);
  assert.equal(cmd.secrets[0]!.key, priv); // the caller's array, not a copy
  assert.equal(
    describeCommand(cmd.display),
    `wg set wg0 private-key <secret channel> peer ${PEER_A} preshared-key <secret channel> endpoint [fd00::1]:51820 persistent-keepalive 25 allowed-ips 10.64.0.2/32,fc00::2/128 peer ${PEER_B} preshared-key /dev/null allowed-ips ""`,
  );
  // Nothing derived from the key material is in argv.
  const secretsText = [priv, psk].flatMap((k) => [Buffer.from(k).toString('base64'), Buffer.from(k).toString('hex')]);
  for (const word of cmd.argv) for (const s of secretsText) assert.ok(!word.includes(s));
});

test('set: remove ignores the other fields; keepalive 0 is off', () => {
  const cmd = setCommand('wg0', { peers: [{ publicKey: PEER_A, remove: true, presharedKey: testKey(1) }, { publicKey: PEER_B, persistentKeepalive: 0 }] }, '/d');
  assert.deepEqual(cmd.argv, ['set', 'wg0', 'peer', PEER_A, 'remove', 'peer', PEER_B, 'persistent-keepalive', 'off']);
  assert.equal(cmd.secrets.length, 0);
});

test('set: every bad field is refused before a process exists, naming the field', () => {
  const cases: [Parameters<typeof setCommand>[1], RegExp][] = [
    [{ privateKey: new Uint8Array(31) }, /^private key: expected 32 bytes, got 31$/],
    [{ peers: [{ publicKey: PEER_A, presharedKey: new Uint8Array(33) }] }, /^peer 1 preshared key: expected 32 bytes, got 33$/],
    [{ peers: [{ publicKey: PEER_A }, { publicKey: 'nope' }] }, /^peer 2 public key: /],
    [{ peers: [{ publicKey: PEER_A, endpoint: '198.51.100.1' }] }, /^peer 1 endpoint: expected host:port/],
    [{ peers: [{ publicKey: PEER_A, endpoint: '198.51.100.1:70000' }] }, /^peer 1 endpoint: /],
    [{ peers: [{ publicKey: PEER_A, persistentKeepalive: 65536 }] }, /^peer 1 persistent keepalive: /],
    [{ peers: [{ publicKey: PEER_A, allowedIps: ['10.0.0.1', '10.0.0.0/40'] }] }, /^peer 1 allowed-ip 2: /],
  ];
  for (const [change, re] of cases) {
    assert.throws(() => setCommand('wg0', change, '/d'), (err: unknown) => isPqpskError(err, 'INVALID_INPUT') && re.test(err.message), String(re));
  }
});

test('set with nothing to change is a bare `wg set IF`', () => {
  assert.deepEqual(setCommand('wg0', {}, '/d').argv, ['set', 'wg0']);
});
