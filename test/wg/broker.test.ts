/**
 * The privileged broker, sent hostile requests directly over a socket as a relay that was
 * taken over would send them: each is refused, none reaches a program, and the broker
 * then still serves a valid request. Its `wg` is a stand-in script that logs its argv
 * and environment.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FrameReader, MAX_FRAME_BYTES, encodeFrame } from '../../src/wg/broker-protocol.js';
import { BROKER_ENV, findProgram, resolvePrograms, serveRelay } from '../../src/wg/broker.js';
import { BrokerClient } from '../../src/wg/broker-client.js';

const IFACE = 'pqb0';
const KEY = Buffer.alloc(32, 7).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'pqpsk-broker-test-'));
const log = join(dir, 'wg.log');
const fakeWg = join(dir, 'wg');
let relay: Socket;
let served: Promise<void>;
const replies = new Map<number | null, { header: Record<string, unknown>; bytes: Uint8Array }[]>();
const reader = new FrameReader();

before(async () => {
  // Logs argv, its whole environment and the length of each key file it reads; prints a key for `show … public-key`.
  writeFileSync(
    fakeWg,
    `#!/bin/sh\n{ echo "ARGV $*"; env; } >> ${log}\nprev=\nfor a in "$@"; do if [ "$prev" = preshared-key ]; then echo "KEYLEN $(wc -c < "$a")" >> ${log}; fi; prev=$a; done\n[ "$3" = public-key ] && echo ${KEY}\nexit 0\n`,
  );
  chmodSync(fakeWg, 0o755);
  process.env['PQPSK_RUNTIME_DIR'] = join(dir, 'run');
  // The broker's own environment must not reach its programs.
  process.env['LD_PRELOAD'] = '';
  process.env['PQPSK_BROKER_TEST_MARKER'] = 'leaked';
  const path = join(dir, 'sock');
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((s) => {
      server.close();
      resolve(s);
    }).listen(path);
  });
  relay = connect(path);
  served = serveRelay(await accepted, IFACE, { wg: fakeWg, mkfifo: findProgram('mkfifo')!, nft: null });
  relay.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      assert.equal(typeof f, 'object', 'the broker answers in whole frames');
      if (typeof f !== 'object') continue;
      const header = f.header as Record<string, unknown>;
      const id = header['id'] as number | null;
      replies.set(id, [...(replies.get(id) ?? []), { header, bytes: f.bytes }]);
    }
  });
});

after(async () => {
  relay.destroy();
  await served;
  delete process.env['LD_PRELOAD'];
  delete process.env['PQPSK_BROKER_TEST_MARKER'];
  delete process.env['PQPSK_RUNTIME_DIR'];
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes, then waits for the next reply with `id` (null: a frame the broker could not read). */
async function exchange(bytes: Buffer, id: number | null): Promise<Record<string, unknown>> {
  const before = replies.get(id)?.length ?? 0;
  relay.write(bytes);
  for (let i = 0; i < 500; i++) {
    const got = replies.get(id) ?? [];
    if (got.length > before) return got[before]!.header;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`no reply to request ${String(id)}`);
}

function wgLog(): string {
  try {
    return readFileSync(log, 'utf8');
  } catch {
    return '';
  }
}

const PSK = new Uint8Array(32).fill(9);
const hostile: { what: string; header: object; bytes?: Uint8Array; message: RegExp }[] = [
  { what: 'an arbitrary program', header: { id: 1, iface: IFACE, op: 'run', file: '/bin/sh', args: ['-c', 'id'] }, message: /^request op: expected show, set or nft$/ },
  { what: 'a program named in a show', header: { id: 2, iface: IFACE, op: 'show', field: 'public-key', file: '/bin/sh' }, message: /^show request: unexpected field$/ },
  { what: 'LD_PRELOAD in the environment', header: { id: 3, iface: IFACE, op: 'show', field: 'public-key', env: { LD_PRELOAD: '/tmp/evil.so' } }, message: /^show request: unexpected field$/ },
  { what: 'another interface', header: { id: 4, iface: 'wg0', op: 'show', field: 'public-key' }, message: /^request interface: this broker serves pqb0 only$/ },
  { what: 'a read that prints secrets', header: { id: 5, iface: IFACE, op: 'show', field: 'dump' }, message: /^show field: expected one of public-key, allowed-ips, latest-handshakes, transfer$/ },
  { what: 'extra argv in a field', header: { id: 6, iface: IFACE, op: 'show', field: 'public-key private-key' }, message: /^show field:/ },
  { what: 'a bad key', header: { id: 7, iface: IFACE, op: 'set', peers: [{ publicKey: `${KEY.slice(0, 43)} remove`, remove: true }] }, message: /^peer 1 public key: expected a 44-character base64 WireGuard key/ },
  { what: 'extra argv after a key', header: { id: 8, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, allowedIps: ['10.0.0.1/32 private-key /etc/shadow'] }] }, message: /^peer 1 allowed-ip 1:/ },
  { what: 'a bad prefix', header: { id: 9, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, allowedIps: ['10.0.0.0/33'] }] }, message: /^peer 1 allowed-ip 1:/ },
  { what: 'a private key', header: { id: 10, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, privateKey: 0 }] }, bytes: PSK, message: /^peer 1: unexpected field$/ },
  { what: 'an endpoint', header: { id: 11, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, endpoint: '192.0.2.1:51820' }] }, message: /^peer 1: unexpected field$/ },
  { what: 'a PSK path of its own', header: { id: 12, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, psk: '/etc/shadow' }] }, message: /^peer 1 psk: expected the index/ },
  { what: 'an all-zero PSK', header: { id: 13, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, psk: 0 }] }, bytes: new Uint8Array(32), message: /^peer 1 psk: all zero$/ },
  { what: 'remove with more', header: { id: 14, iface: IFACE, op: 'set', peers: [{ publicKey: KEY, remove: true, allowedIps: [] }] }, message: /^peer 1: remove stands alone$/ },
  { what: 'no peers', header: { id: 15, iface: IFACE, op: 'set', peers: [] }, message: /^set peers:/ },
  { what: 'a prototype key', header: JSON.parse(`{"id":16,"iface":"${IFACE}","op":"nft","__proto__":{"x":1}}`) as object, message: /^nft request: unexpected field$/ },
];

test('every hostile request is refused with a reason, and runs nothing', async () => {
  for (const h of hostile) {
    const reply = await exchange(encodeFrame(h.header, h.bytes), (h.header as { id: number }).id);
    assert.equal(reply['ok'], false, h.what);
    assert.equal(reply['code'], 'INVALID_INPUT', h.what);
    assert.match(String(reply['message']), h.message, h.what);
  }
  assert.equal(wgLog(), '', 'no program ran');
});

test('a malformed frame and an oversized one are refused; the broker stays up and serves a valid request after them', async () => {
  const garbage = Buffer.from('not json');
  const malformed = Buffer.alloc(8 + garbage.length);
  malformed.writeUInt32BE(4 + garbage.length, 0);
  malformed.writeUInt32BE(garbage.length, 4);
  garbage.copy(malformed, 8);
  assert.equal((await exchange(malformed, null))['message'], 'request: not a frame with a JSON header');

  const oversized = Buffer.alloc(4 + MAX_FRAME_BYTES + 1);
  oversized.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
  const refused = await exchange(oversized, null);
  assert.deepEqual([refused['code'], refused['message']], ['RESOURCE_EXHAUSTED', 'request too large']);

  const reply = await exchange(encodeFrame({ id: 100, iface: IFACE, op: 'show', field: 'public-key' }), 100);
  assert.equal(reply['ok'], true);
  assert.equal(new TextDecoder().decode(replies.get(100)![0]!.bytes).trim(), KEY);
  const ran = wgLog();
  assert.match(ran, new RegExp(`^ARGV show ${IFACE} public-key$`, 'm'));
  assert.doesNotMatch(ran, /LD_PRELOAD|PQPSK_BROKER_TEST_MARKER/, 'nothing of the broker\'s environment reaches `wg`');
  for (const [name, value] of Object.entries(BROKER_ENV)) assert.match(ran, new RegExp(`^${name}=${value}$`, 'm'));
});

test('a valid set through the relay\'s client: the PSK goes to `wg` through a FIFO the broker made, never on argv', async () => {
  const [a, b] = await socketPair();
  const done = serveRelay(a, IFACE, { wg: fakeWg, mkfifo: findProgram('mkfifo')!, nft: null });
  const client = new BrokerClient(b, IFACE);
  const psk = new Uint8Array(32).fill(5);
  await client.set(IFACE, [{ publicKey: KEY, presharedKey: psk, allowedIps: ['10.64.0.2/32'] }, { publicKey: Buffer.alloc(32, 8).toString('base64'), remove: true }]);
  const line = wgLog().split('\n').filter((l) => l.startsWith('ARGV set')).pop()!;
  assert.match(line, new RegExp(`^ARGV set ${IFACE} peer ${KEY.replace(/[+/]/g, '\\$&')} preshared-key ${join(dir, 'run').replace(/[+/]/g, '\\$&')}/pqpsk-\\d+-\\w{6}/\\d+/0 allowed-ips 10\\.64\\.0\\.2/32 peer \\S+ remove$`));
  assert.match(wgLog(), /^KEYLEN 45$/m, '`wg` read the key (base64 and a newline) from the FIFO');
  assert.equal(await client.nftRuleset(), null, 'no nft: unreadable, not an error');
  await assert.rejects(client.show('other0', 'public-key'), { code: 'INVALID_INPUT', message: /serves pqb0 only/ });
  client.close();
  await done;
  await assert.rejects(client.show(IFACE, 'public-key'), { code: 'WG_FAILURE', message: 'the privileged broker of this relay is gone' });
});

test('a set with keys starts only `wg`: the broker made its FIFO before the request came, and makes the next one after it', async () => {
  const mkfifo = join(dir, 'mkfifo-logged');
  writeFileSync(mkfifo, `#!/bin/sh\necho "MKFIFO $*" >> ${log}\nexec ${findProgram('mkfifo')!} "$@"\n`);
  chmodSync(mkfifo, 0o755);
  const [a, b] = await socketPair();
  const from = wgLog().length;
  const done = serveRelay(a, IFACE, { wg: fakeWg, mkfifo, nft: null });
  const client = new BrokerClient(b, IFACE);
  const made = async (count: number): Promise<string[]> => {
    for (let i = 0; i < 500; i++) {
      const lines = wgLog().slice(from).split('\n').filter((l) => l.startsWith('MKFIFO'));
      if (lines.length >= count) return lines;
      await new Promise((r) => setTimeout(r, 10));
    }
    return assert.fail(`fewer than ${count} mkfifo runs`);
  };
  try {
    const [ahead] = await made(1);
    const fifo = /(\S+\/0)$/.exec(ahead!)?.[1];
    assert.ok(fifo !== undefined, ahead);
    await client.set(IFACE, [{ publicKey: KEY, presharedKey: new Uint8Array(32).fill(6), allowedIps: ['10.64.0.2/32'] }]);
    const ran = wgLog().slice(from).split('\n').filter((l) => l.startsWith('MKFIFO') || l.startsWith('ARGV set'));
    // Up to the set: the next FIFO may be made (and logged) as soon as the set was answered.
    ran.splice(ran.findIndex((l) => l.startsWith('ARGV set')) + 1);
    assert.deepEqual(ran, [ahead, `ARGV set ${IFACE} peer ${KEY} preshared-key ${fifo} allowed-ips 10.64.0.2/32`], 'the set ran `wg` on the FIFO made ahead, and no mkfifo of its own');
    const [, next] = await made(2);
    assert.notEqual(next, ahead, 'the next set gets a FIFO of its own, made once this one was answered');
  } finally {
    client.close();
    await done;
  }
});

test('programs are found in the fixed directories only, never on PATH', () => {
  assert.equal(findProgram('wg', [dir]), fakeWg);
  assert.equal(findProgram('wg', [join(dir, 'nosuch')]), null);
  assert.throws(() => resolvePrograms([join(dir, 'nosuch')]), { code: 'SETUP', message: `the \`wg\` program was not found in ${join(dir, 'nosuch')} (install wireguard-tools)` });
});

async function socketPair(): Promise<[Socket, Socket]> {
  const path = join(dir, `pair-${Date.now()}`);
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((s) => {
      server.close();
      resolve(s);
    }).listen(path);
  });
  const b = connect(path);
  return [await accepted, b];
}

test('frames come out whole however the stream is cut: byte by byte, or several in one chunk', () => {
  const frames = [encodeFrame({ id: 1 }, new Uint8Array([1, 2, 3])), encodeFrame({ id: 2 }), encodeFrame({ id: 3 }, new Uint8Array(70_000).fill(4))];
  const all = Buffer.concat(frames);
  const whole = new FrameReader().push(Buffer.from(all));
  const reader = new FrameReader();
  const cut = [...all].flatMap((b) => reader.push(Buffer.from([b])));
  for (const got of [whole, cut]) {
    assert.deepEqual(
      got.map((f) => (typeof f === 'string' ? f : [f.header, f.bytes.length, f.bytes[0]])),
      [
        [{ id: 1 }, 3, 1],
        [{ id: 2 }, 0, undefined],
        [{ id: 3 }, 70_000, 4],
      ],
    );
  }
});

test('a reply the relay cannot read fails the requests waiting for one, instead of leaving them waiting inside the lock; a PSK of the wrong length never leaves the relay', async () => {
  const [a, b] = await socketPair();
  const client = new BrokerClient(b, IFACE);
  const asked = client.show(IFACE, 'public-key');
  // The broker's side answers with a frame whose header is not JSON.
  const junk = Buffer.alloc(8 + 3);
  junk.writeUInt32BE(4 + 3, 0);
  junk.writeUInt32BE(3, 4);
  junk.write('{x]', 8);
  a.write(junk);
  await assert.rejects(asked, { code: 'WG_FAILURE', message: 'the privileged broker sent a reply that cannot be read (malformed)' });
  await assert.rejects(client.set(IFACE, [{ publicKey: KEY, presharedKey: new Uint8Array(31) }]), { code: 'INVALID_INPUT', message: /peer 1 PSK/ });
  client.close();
  a.destroy();
});
