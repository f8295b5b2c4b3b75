/**
 * `pqpsk status` against a stranger on the lock socket: should anything but a pqpsk holder
 * answer there (only the lock directory's owner can bind in it now), then an answer that is not entirely well-formed is not used at all —
 * status reads the interface alone and says so in its first line — and no string it
 * carries reaches the terminal with a control character in it. The fake holders listen
 * on the very path the lock uses, under an interface name of this run only (a squatter
 * with the rights to bind there).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { statusText } from '../../src/cli/commands/status-run.js';
import { parseHolderReply } from '../../src/client/holder-reply.js';
import { lockPath, openLockDirectory } from '../../src/client/lock.js';
import { readTunnelStatus } from '../../src/client/status.js';
import type { WatchStatus } from '../../src/client/watch.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, wgKeypair } from './helpers.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const IFACE = `pqhr${process.pid % 100000}`;
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** Answers every connection to IFACE's lock with `reply`, as a squatter would. */
async function fakeHolder(reply: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(reply);
  });
  await openLockDirectory();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(lockPath(IFACE), resolve);
  });
  servers.push(server);
  return server;
}

/** IFACE on its parent key (no PSK), a handshake 10 s ago. */
async function onParent(): Promise<{ wg: FakeWgControl; parent: string }> {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, IFACE, relayKey, '0.0.0.0/0');
  wg.setLatestHandshake(IFACE, relayKey, NOW / 1000 - 10);
  return { wg, parent: parent.publicKey };
}

function watchStatus(parent: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const eph = wgKeypair().publicKey;
  return {
    phase: 'protected',
    protected: true,
    onEphemeral: true,
    negotiatedAt: NOW - 60_000,
    nextRotationAt: NOW + 3_000_000.5,
    rotations: 2,
    recoveries: 0,
    lastError: null,
    hops: [{ role: 'single', interface: IFACE, service: '10.64.0.1:1337', publicKey: eph, parentPublicKey: parent, pskFingerprint: '0123456789abcdef' }],
    ...over,
  };
}

/** What status prints for IFACE (text), or the message and whether it threw. */
async function statusFor(wg: FakeWgControl): Promise<string> {
  try {
    return statusText(await readTunnelStatus(IFACE, null, { wg, now: () => NOW }));
  } catch (err) {
    return `threw: ${(err as Error).message}`;
  }
}

const untrusted = (parent: string): string =>
  [
    `${IFACE}: NOT post-quantum protected (no trustworthy watcher answered; read from the interface only)`,
    `  public key       ${parent}`,
    '  PSK fingerprint  (no PSK)',
    `  latest handshake ${new Date(NOW - 10_000).toISOString()}`,
    '  config service   (known to a running watcher only)',
  ].join('\n');

const squatters: [string, (parent: string) => string][] = [
  ['a squatter whose state rewrites the verdict line (\\r ESC[2K): not believed, and no control character printed', (parent) => JSON.stringify({ pid: 1, mode: 'watch', status: watchStatus(parent, { phase: `\r\x1b[2K${IFACE}: post-quantum protected` }) })],
  ['a squatter with hops: "x": not believed, and status still answers (no "unexpected error")', (parent) => JSON.stringify({ pid: 1, mode: 'watch', status: watchStatus(parent, { hops: 'x' }) })],
  ['a squatter with a huge line: not read past the bound, not believed', (parent) => JSON.stringify({ pid: 1, mode: 'watch', status: watchStatus(parent, { lastError: 'x'.repeat(4 << 20) }) })],
];
for (const [name, reply] of squatters) {
  test(name, async () => {
    const { wg, parent } = await onParent();
    const server = await fakeHolder(`${reply(parent)}\n`);
    try {
      assert.equal(await statusFor(wg), untrusted(parent));
    } finally {
      server.close();
    }
  });
}

test('a well-formed reply is used; control characters in its last error are dropped', async () => {
  const { wg, parent } = await onParent();
  const server = await fakeHolder(`${JSON.stringify({ pid: 4242, mode: 'watch', leaving: false, interfaces: { [IFACE]: 7 }, status: watchStatus(parent, { phase: 'unprotected', protected: false, onEphemeral: false, lastError: 'relay\r\x1b[2K said\tno \u00e9' }) })}\n`);
  try {
    const text = await statusFor(wg);
    assert.match(text, new RegExp(`^${IFACE}: NOT post-quantum protected \\(watcher pid 4242, unprotected\\)$`, 'm'));
    assert.match(text, /^ {2}last error {7}relay\[2K saidno $/m);
    assert.doesNotMatch(text, /[^\x20-\x7e\n]/, 'printable ASCII only');
  } finally {
    server.close();
  }
});

test('parseHolderReply: every field checked, any defect rejects the whole reply', () => {
  const parent = wgKeypair().publicKey;
  const good = { pid: 4242, mode: 'watch', leaving: false, interfaces: { wg0: 7 }, status: watchStatus(parent) };
  const parsed = parseHolderReply(JSON.stringify(good));
  assert.deepEqual(parsed, good, 'a watcher\'s own reply comes through whole');
  assert.deepEqual(parseHolderReply(JSON.stringify({ pid: 9, mode: 'negotiate', interfaces: { wg0: 3 } })), { pid: 9, mode: 'negotiate', leaving: false, interfaces: { wg0: 3 }, status: null });
  const bad: [string, unknown][] = [
    ['pid 0', { ...good, pid: 0 }],
    ['pid 1.5', { ...good, pid: 1.5 }],
    ['pid as text', { ...good, pid: '4242' }],
    ['pid past the kernel limit', { ...good, pid: 2 ** 31 }],
    ['unknown mode', { ...good, mode: 'root' }],
    ['leaving as text', { ...good, leaving: 'yes' }],
    ['interface name with a control character', { ...good, interfaces: { 'wg\x1b0': 7 } }],
    ['negative index', { ...good, interfaces: { wg0: -1 } }],
    ['status for a one-shot run', { ...good, mode: 'negotiate' }],
    ['unknown phase', { ...good, status: watchStatus(parent, { phase: 'fine' }) }],
    ['protected as text', { ...good, status: watchStatus(parent, { protected: 'true' }) }],
    ['a time as text', { ...good, status: watchStatus(parent, { negotiatedAt: '2026-12-07' }) }],
    ['a negative time', { ...good, status: watchStatus(parent, { nextRotationAt: -5 }) }],
    ['negative rotations', { ...good, status: watchStatus(parent, { rotations: -1 }) }],
    ['last error as a number', { ...good, status: watchStatus(parent, { lastError: 5 }) }],
    ['hops as text', { ...good, status: watchStatus(parent, { hops: 'x' }) }],
    ['no hops', { ...good, status: watchStatus(parent, { hops: [] }) }],
    ['a hop with a bad key', { ...good, status: watchStatus(parent, { hops: [{ role: 'single', interface: 'wg0', publicKey: 'AAAA', parentPublicKey: parent, pskFingerprint: null }] }) }],
    ['a hop with an unknown role', { ...good, status: watchStatus(parent, { hops: [{ role: 'boss', interface: 'wg0', publicKey: parent, parentPublicKey: parent, pskFingerprint: null }] }) }],
    ['a hop with a bad fingerprint', { ...good, status: watchStatus(parent, { hops: [{ role: 'single', interface: 'wg0', publicKey: parent, parentPublicKey: parent, pskFingerprint: '\x1b[2K' }] }) }],
    ['a hop with a service that is not ip:port', { ...good, status: watchStatus(parent, { hops: [{ role: 'single', interface: 'wg0', service: 'evil\r:1', publicKey: parent, parentPublicKey: parent, pskFingerprint: null }] }) }],
    ['an array', [good]],
  ];
  for (const [what, reply] of bad) assert.equal(parseHolderReply(JSON.stringify(reply)), null, what);
  assert.equal(parseHolderReply('not json'), null);
});

test('the status a real watcher reports passes the check', () => {
  const parent = wgKeypair().publicKey;
  const status: WatchStatus = { phase: 'starting', protected: false, onEphemeral: false, negotiatedAt: null, nextRotationAt: null, rotations: 0, recoveries: 0, lastError: null, hops: [{ role: 'entry', interface: 'wg0', service: '[fd00::1]:1337', publicKey: parent, parentPublicKey: parent, pskFingerprint: null }, { role: 'exit', interface: 'wg1', service: '10.64.0.1:1337', publicKey: parent, parentPublicKey: parent, pskFingerprint: null }] };
  assert.deepEqual(parseHolderReply(JSON.stringify({ pid: 77, mode: 'watch', leaving: true, interfaces: { wg0: 3, wg1: 4 }, status })), { pid: 77, mode: 'watch', leaving: true, interfaces: { wg0: 3, wg1: 4 }, status });
});
