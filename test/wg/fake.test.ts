import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { isPqpskError } from '../../src/errors.js';
import { WgError } from '../../src/wg/errors.js';
import { FakeWgControl } from '../../src/wg/fake.js';
import { clampPrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { testKey } from './helpers.js';

const pub = (seed: number): string => publicKeyToText(publicKeyOf(testKey(seed)));
const A = pub(10);
const B = pub(11);

function relay(): FakeWgControl {
  const wg = new FakeWgControl();
  wg.addInterface('wg0', { privateKey: testKey(1) });
  return wg;
}

test('a missing interface is NOT_FOUND with the real control\'s message', async () => {
  const wg = new FakeWgControl();
  await assert.rejects(wg.show('wg7'), (err: unknown) => err instanceof WgError && err.code === 'NOT_FOUND' && err.message === 'no such WireGuard interface wg7 (command: wg show wg7 dump, exit code 1)');
  await assert.rejects(wg.set('wg7', { privateKey: testKey(1) }), /no such WireGuard interface wg7 \(command: wg set wg7 private-key <secret channel>, exit code 1\)/);
  assert.deepEqual(wg.operations.map((o) => [o.op, o.failed]), [['show', 'NOT_FOUND'], ['set', 'NOT_FOUND']]);
});

test('naming a peer creates it; fields update independently; keepalive 0 is off', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.2'], endpoint: '198.51.100.2:4000', persistentKeepalive: 25 }] });
  await wg.set('wg0', { peers: [{ publicKey: A, persistentKeepalive: 0 }] });
  const s = await wg.show('wg0');
  assert.deepEqual(s.peers, [{ publicKey: A, hasPresharedKey: false, endpoint: '198.51.100.2:4000', allowedIps: ['10.64.0.2/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: null }]);
  assert.equal(s.publicKey, publicKeyToText(publicKeyOf(testKey(1))));
  assert.equal(s.listenPort, 51820);
});

test('allowed-ips are unique per interface: giving one to B takes it from A (the relay swap)', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.2/32', 'fc00::2/128', '10.0.0.0/8'] }] });
  await wg.set('wg0', { peers: [{ publicKey: B, allowedIps: ['10.64.0.2', 'FC00:0::2/128'] }] });
  const s = await wg.show('wg0');
  assert.deepEqual(s.peers.map((p) => [p.publicKey, p.allowedIps]), [
    [A, ['10.0.0.0/8']],
    [B, ['10.64.0.2/32', 'fc00::2/128']],
  ]);
  // Host bits are masked, so 10.9.9.9/8 is the same prefix as 10.0.0.0/8 and moves too.
  await wg.set('wg0', { peers: [{ publicKey: B, allowedIps: ['10.9.9.9/8'] }] });
  assert.deepEqual((await wg.show('wg0')).peers.map((p) => p.allowedIps), [[], ['10.0.0.0/8']]);
  // Within one set, a later peer wins, as in WireGuard's in-order processing.
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.9/32'] }, { publicKey: B, allowedIps: ['10.64.0.9/32'] }] });
  assert.deepEqual((await wg.show('wg0')).peers.map((p) => p.allowedIps), [[], ['10.64.0.9/32']]);
});

test('PSK: set, cleared with null, all-zero refused (WireGuard would read it as none); values are kept for tests only', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A, presharedKey: testKey(5) }] });
  assert.equal((await wg.show('wg0')).peers[0]!.hasPresharedKey, true);
  assert.deepEqual(wg.presharedKeyOf('wg0', A), testKey(5));
  await wg.set('wg0', { peers: [{ publicKey: A, presharedKey: null }] });
  assert.equal((await wg.show('wg0')).peers[0]!.hasPresharedKey, false);
  assert.equal(wg.presharedKeyOf('wg0', A), null);
  await assert.rejects(wg.set('wg0', { peers: [{ publicKey: A, presharedKey: new Uint8Array(32) }] }), { code: 'INVALID_INPUT', message: /all zero/ });
});

test('the fake copies secrets: wiping the caller\'s array does not change the stored key', async () => {
  const wg = relay();
  const psk = testKey(5);
  await wg.set('wg0', { peers: [{ publicKey: A, presharedKey: psk }] });
  psk.fill(0);
  assert.deepEqual(wg.presharedKeyOf('wg0', A), testKey(5));
});

test('private key: stored clamped, public key derived, a peer with that public key disappears', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A }, { publicKey: B }] });
  await wg.set('wg0', { privateKey: testKey(10) });
  const s = await wg.show('wg0');
  assert.equal(s.publicKey, A);
  assert.deepEqual(s.peers.map((p) => p.publicKey), [B]);
  assert.deepEqual(await wg.readPrivateKey('wg0'), clampPrivateKey(testKey(10)));
  // A peer named with the interface's own public key is ignored (wireguard-go does so).
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.1.1.1/32'] }] });
  assert.deepEqual((await wg.show('wg0')).peers.map((p) => p.publicKey), [B]);
  const none = new FakeWgControl();
  none.addInterface('wg1');
  assert.equal((await none.show('wg1')).publicKey, '');
  await assert.rejects(none.readPrivateKey('wg1'), (e: unknown) => isPqpskError(e, 'NOT_FOUND'));
});

test('remove, then re-adding puts the peer last, fresh', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.2/32'] }, { publicKey: B }] });
  wg.setLatestHandshake('wg0', A, 1700000000);
  await wg.set('wg0', { peers: [{ publicKey: A, remove: true }] });
  await wg.set('wg0', { peers: [{ publicKey: A }] });
  const s = await wg.show('wg0');
  assert.deepEqual(s.peers.map((p) => [p.publicKey, p.latestHandshake, p.allowedIps.length]), [[B, 0, 0], [A, 0, 0]]);
});

test('a rejected set changes nothing', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.2/32'] }] });
  const before = await wg.show('wg0');
  await assert.rejects(
    wg.set('wg0', { privateKey: testKey(3), peers: [{ publicKey: B, allowedIps: ['10.64.0.2/32'] }, { publicKey: A, endpoint: 'nope' }] }),
    (e: unknown) => isPqpskError(e, 'INVALID_INPUT') && /^peer 2 endpoint/.test(e.message),
  );
  assert.deepEqual(await wg.show('wg0'), before);
});

test('handshakes and counters set by tests show through show() and latestHandshakes()', async () => {
  const wg = relay();
  await wg.set('wg0', { peers: [{ publicKey: A }, { publicKey: B }] });
  wg.setLatestHandshake('wg0', B, 1795317768);
  wg.setTransfer('wg0', B, 404, 348);
  assert.deepEqual([...(await wg.latestHandshakes('wg0'))], [[A, 0], [B, 1795317768]]);
  const b = (await wg.show('wg0')).peers[1]!;
  assert.deepEqual([b.latestHandshake, b.rxBytes, b.txBytes], [1795317768, 404, 348]);
  assert.throws(() => wg.setLatestHandshake('wg0', pub(99), 1), /no peer/);
});

test('operations are recorded without secret values; failNext injects one failure', async () => {
  const wg = relay();
  let hooked = 0;
  wg.onSet = () => void hooked++;
  await wg.set('wg0', { privateKey: testKey(7), peers: [{ publicKey: A, presharedKey: testKey(8), allowedIps: ['10.64.0.2/32'] }, { publicKey: B, presharedKey: null }] });
  wg.failNext('set');
  await assert.rejects(wg.set('wg0', { peers: [{ publicKey: B, remove: true }] }), (e: unknown) => isPqpskError(e, 'WG_FAILURE'));
  await wg.latestHandshakes('wg0');
  assert.deepEqual(wg.operations, [
    { op: 'set', iface: 'wg0', privateKey: true, peers: [{ publicKey: A, presharedKey: 'set', allowedIps: ['10.64.0.2/32'] }, { publicKey: B, presharedKey: 'cleared' }] },
    { op: 'set', iface: 'wg0', privateKey: false, peers: [{ publicKey: B, remove: true }], failed: 'WG_FAILURE' },
    { op: 'latestHandshakes', iface: 'wg0' },
  ]);
  assert.equal(hooked, 1);
  assert.equal((await wg.show('wg0')).peers.length, 2); // the failed remove did nothing
  const printed = JSON.stringify(wg) + inspect(wg) + JSON.stringify(wg.operations);
  for (const k of [testKey(7), clampPrivateKey(testKey(7)), testKey(8)]) {
    assert.ok(!printed.includes(Buffer.from(k).toString('base64')));
  }
  assert.match(inspect(wg), /<secret>/);
});

test('receivedBytes: the received counters of the peers asked for, absent ones left out', async () => {
  const wg = new FakeWgControl();
  wg.addInterface('wg0');
  await wg.set('wg0', { peers: [{ publicKey: A }, { publicKey: B }] });
  wg.setTransfer('wg0', B, 404, 348);
  assert.deepEqual(await wg.receivedBytes('wg0', new Set([A, B, pub(12)])), new Map([[A, 0], [B, 404]]));
  assert.equal(wg.operations.at(-1)?.op, 'receivedBytes');
});

test('receiveData: wireguard-go counts data on the peer whatever its source; the kernel drops data from another peer\'s address into the interface\'s frame errors', async () => {
  for (const counting of ['wireguard-go', 'kernel'] as const) {
    const wg = new FakeWgControl({ counting });
    wg.addInterface('wg0');
    await wg.set('wg0', { peers: [{ publicKey: A, allowedIps: ['10.64.0.2/32'] }, { publicKey: B }] });
    wg.receiveData('wg0', A, 100, '10.64.0.2/32');
    wg.receiveData('wg0', B, 100, '10.64.0.2/32');
    wg.receiveData('wg0', B, 100, '10.64.0.9/32');
    const rx = await wg.receivedBytes('wg0', new Set([A, B]));
    const frames = await wg.frameErrors('wg0');
    if (counting === 'kernel') assert.deepEqual([rx, frames], [new Map([[A, 100], [B, 0]]), 2], 'kernel: only honest data counts on the peer');
    else assert.deepEqual([rx, frames], [new Map([[A, 100], [B, 200]]), 0], 'wireguard-go: all of it counts, no frame errors');
    assert.equal(wg.operations.at(-1)?.op, 'frameErrors');
  }
});
