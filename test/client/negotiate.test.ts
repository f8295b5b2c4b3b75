import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { DEFAULT_SERVICE } from '../../src/cli/commands/negotiate.js';
import { attemptFailedLine, waitText } from '../../src/cli/negotiate-output.js';
import { noAnswerAdvice } from '../../src/cli/commands/negotiate-run.js';
import { createClientKems } from '../../src/client/kems.js';
import { negotiate, type NegotiateOptions } from '../../src/client/negotiate.js';
import type { MssGuard, RouteDevice } from '../../src/client/hop-route.js';
import type { NegotiateDeps } from '../../src/client/negotiation-deps.js';
import type { ClientEvent, HopSpec } from '../../src/client/types.js';
import { pskFingerprint } from '../../src/kem/psk.js';
import type { Kem } from '../../src/kem/types.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, equalBytes, freePort, SimNetwork, startTestRelay, wgKeypair, type SimRoute, type TestRelay } from './helpers.js';
import { rejection } from '../fixtures/errors.js';

let kems: Kem[];
const relays: TestRelay[] = [];

before(() => {
  kems = createClientKems(['ML-KEM-1024', 'HQC-256']);
});
after(() => {
  for (const r of relays) r.close();
});

async function relay(mode: Parameters<typeof startTestRelay>[0] = 'good'): Promise<TestRelay> {
  const r = await startTestRelay(mode);
  relays.push(r);
  return r;
}

/** A single-hop set-up: fake interface wg0 with one relay peer, its relay, a simulated network. */
async function singleHop(mode: Parameters<typeof startTestRelay>[0] = 'good') {
  const wg = new FakeWgControl();
  const r = await relay(mode);
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const route: SimRoute = { iface: 'wg0', relayPeer: relayKey, relay: r, parentPublicKey: parent.publicKey };
  const net = new SimNetwork(wg, new Map([[r.address, route]]));
  const hop: HopSpec = { role: 'single', iface: 'wg0', peer: null, service: r.address };
  return { wg, relay: r, relayKey, parent, net, hop };
}

function options(hops: HopSpec[], extra: Partial<NegotiateOptions> = {}): NegotiateOptions {
  return { hops, maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 1500, ...extra };
}

function deps(wg: FakeWgControl, net: SimNetwork, events: ClientEvent[], extra: Partial<NegotiateDeps> = {}): NegotiateDeps {
  return { wg, kems, probe: net, clock: net.clock, onEvent: (e) => events.push(e), ...extra };
}


const setOps = (wg: FakeWgControl) => wg.operations.filter((o) => o.op === 'set' && o.failed === undefined);

test('single hop: one wg set switches to the ephemeral key and the PSK the relay holds; the report shows no secret', async () => {
  const { wg, relay: r, relayKey, parent, net, hop } = await singleHop();
  const events: ClientEvent[] = [];
  const setsBefore = setOps(wg).length;
  const report = await negotiate(options([hop]), deps(wg, net, events));

  assert.equal(report.attempts, 1);
  const [h] = report.hops;
  assert.ok(h);
  assert.equal(r.registrations.length, 1);
  const reg = r.registrations[0]!;
  assert.equal(reg.parent, parent.publicKey, 'the request names the interface key as parent');
  assert.equal(reg.ephemeral, h.ephemeralPublicKey);
  assert.equal((await wg.show('wg0')).publicKey, h.ephemeralPublicKey, 'the interface now holds the ephemeral key');
  const psk = wg.presharedKeyOf('wg0', relayKey);
  assert.ok(equalBytes(psk, reg.psk), 'client and relay hold the same PSK');
  assert.equal(h.pskFingerprint, pskFingerprint(reg.psk));
  assert.deepEqual(h.algorithms, ['ML-KEM-1024', 'HQC-256']);

  const switches = setOps(wg).slice(setsBefore);
  assert.deepEqual(switches, [{ op: 'set', iface: 'wg0', privateKey: true, peers: [{ publicKey: relayKey, presharedKey: 'set' }] }], 'one wg set, endpoint and allowed-ips untouched');
  const peer = (await wg.show('wg0')).peers[0]!;
  assert.deepEqual(peer.allowedIps, ['10.64.0.1/32']);
  assert.equal(peer.endpoint, '192.0.2.1:51820');

  const text = JSON.stringify(report) + JSON.stringify(events);
  assert.ok(!text.includes(Buffer.from(reg.psk).toString('base64')) && !text.includes(Buffer.from(reg.psk).toString('hex')), 'no PSK in report or events');
  assert.deepEqual(events.map((e) => e.kind), ['attempt', 'exchanged', 'switched', 'verified']);
  psk?.fill(0);
});

test('nothing listening: attempts follow the scaled 8/16/32 s schedule, no switch, exit code 1', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const port = await freePort();
  const net = new SimNetwork(wg, new Map());
  const events: ClientEvent[] = [];
  const starts: number[] = [];
  const clock = net.clock;
  const hop: HopSpec = { role: 'single', iface: 'wg0', peer: null, service: `127.0.0.1:${port}` };
  const err = await rejection(
    negotiate(options([hop], { maxAttempts: 3, timeoutScale: 0.005 }), deps(wg, net, events, {
      clock,
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'attempt') starts.push(clock.monotonic());
      },
    })),
  );
  const timeouts = events.flatMap((e) => (e.kind === 'attempt' ? [e.timeoutMs] : []));
  assert.deepEqual(timeouts, [40, 80, 160]);
  assert.ok(starts[1]! - starts[0]! >= 40 && starts[2]! - starts[1]! >= 80, 'each failed attempt waits out its window');
  const said = `nothing listening on 127.0.0.1:${port} (connection refused) — is \`pqpsk server\` running there?`;
  assert.equal(err.message, `gave up after 3 attempts: ${said}; wg0 left on its parent key, which works`);
  const failures = events.flatMap((e) => (e.kind === 'attempt-failed' ? [e] : []));
  assert.equal(failures.length, 3, 'each failed attempt says why, as it happens');
  // The scaled 40 and 80 ms windows may end before key generation or the refusal: each says so, naming the address.
  for (const f of failures) assert.ok(f.message.includes(`127.0.0.1:${port}`) && !/UNAVAILABLE|LB pick|relay answered/.test(f.message), f.message);
  assert.equal(failures[2]!.message, said);
  assert.ok(failures[0]!.nextInMs! >= 0 && failures[0]!.nextInMs! <= 40 && Number.isInteger(failures[0]!.nextInMs), 'with the whole-ms wait until the next');
  assert.equal(failures[2]!.nextInMs, null, 'no next attempt after the last');
  assert.equal(
    attemptFailedLine(failures[0]!),
    `attempt 1 failed: ${failures[0]!.message}; ${failures[0]!.nextInMs! >= 1 ? `next attempt in ${failures[0]!.nextInMs} ms` : 'trying again now'}`,
  );
  assert.equal(exitCodeFor(err), 1);
  assert.equal(setOps(wg).length, 1, 'only the set-up set; no switch');
});

test('no answer at all from the default config service: the address, the attempt\'s whole ms, and the option to pass', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  await clientInterface(wg, 'wg0', relayKey, '0.0.0.0/0');
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const service = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const net = new SimNetwork(wg, new Map());
  const events: ClientEvent[] = [];
  const hop: HopSpec = { role: 'single', iface: 'wg0', peer: null, service, noAnswerAdvice: noAnswerAdvice('--config-service', DEFAULT_SERVICE) };
  try {
    const err = await rejection(negotiate(options([hop], { maxAttempts: 1, maxTotalMs: 700.6, timeoutScale: 1 }), deps(wg, net, events)));
    assert.equal(
      err.message.replace(/within \d+ ms/, 'within N ms'),
      `gave up after 1 attempt: no answer at all from ${service} within N ms — the default (where Mullvad's relays answer); for your own relay pass --config-service <relay tunnel address>:1337; wg0 left on its parent key, which works`,
    );
    assert.ok(Number(/within (\d+) ms/.exec(err.message)![1]) > 600, 'the attempt\'s time, in whole ms');
    assert.equal(err.code, 'TIMEOUT');
    assert.doesNotMatch(err.message, /LB pick|DEADLINE_EXCEEDED|relay answered/);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('the advice for a config service the user named asks about the tunnel and the port', () => {
  assert.equal(noAnswerAdvice('--config-service', '10.8.0.1:1337'), 'is the tunnel up (a recent handshake in `wg show`), and does the relay let TCP port 1337 in?');
  assert.equal(waitText(7600.4), '8 s');
  assert.equal(waitText(40.4), '40 ms');
});

test('wrong-length ciphertext: typed error naming algorithm, actual and expected; no switch', async () => {
  const { wg, net, hop, parent } = await singleHop('wrong-length');
  const before = setOps(wg).length;
  const err = await rejection(negotiate(options([hop]), deps(wg, net, [])));
  assert.equal(err.code, 'RPC_FAILURE');
  assert.match(err.message, /HQC-256 ciphertext: expected 14421 bytes, got 14420/);
  assert.equal(setOps(wg).length, before, 'nothing switched');
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey);
  assert.equal(exitCodeFor(err), 1);
});

test('a ciphertext HQC rejects explicitly fails the attempt before any switch', async () => {
  const { wg, net, hop } = await singleHop('hqc-tampered');
  const before = setOps(wg).length;
  const err = await rejection(negotiate(options([hop]), deps(wg, net, [])));
  assert.equal(err.code, 'KEM_FAILURE');
  assert.equal(setOps(wg).length, before);
});

test('well-formed but wrong ciphertexts: the switch fails verification and is rolled back to the parent key, no PSK', async () => {
  const { wg, net, hop, parent, relayKey } = await singleHop('wrong-ciphertext');
  const events: ClientEvent[] = [];
  const before = setOps(wg).length;
  const err = await rejection(negotiate(options([hop], { verifyTimeoutMs: 400 }), deps(wg, net, events)));
  assert.equal(err.code, 'VERIFY_FAILED');
  assert.match(err.message, /no handshake with the relay/);
  const sets = setOps(wg).slice(before);
  assert.deepEqual(sets.map((s) => s.peers), [[{ publicKey: relayKey, presharedKey: 'set' }], [{ publicKey: relayKey, presharedKey: 'cleared' }]]);
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey, 'back on the parent key');
  assert.equal(wg.presharedKeyOf('wg0', relayKey), null);
  assert.ok(events.some((e) => e.kind === 'rolled-back' && e.working), 'the rolled-back tunnel was shown to work');
  assert.equal(exitCodeFor(err), 1);
});

test('a failed attempt is followed by a fresh one that succeeds, with new keys', async () => {
  const { wg, relay: r, net, hop } = await singleHop('good');
  r.queue.push('wrong-ciphertext');
  const report = await negotiate(options([hop], { maxAttempts: 2, timeoutScale: 0.1, verifyTimeoutMs: 400 }), deps(wg, net, []));
  assert.equal(report.attempts, 2);
  assert.equal(r.registrations.length, 2);
  assert.notEqual(r.registrations[0]!.ephemeral, r.registrations[1]!.ephemeral, 'each attempt uses a fresh ephemeral key');
  assert.equal((await wg.show('wg0')).publicKey, r.registrations[1]!.ephemeral);
});

test('a re-run on a PSK it did not set: refused without the parent key (nothing read, sent or set); with it, a failed switch goes back to the parent key', async () => {
  const { wg, relay: r, relayKey, parent, net, hop } = await singleHop('wrong-ciphertext');
  const earlier = wgKeypair();
  await wg.set('wg0', { privateKey: earlier.privateKey, peers: [{ publicKey: relayKey, presharedKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1) }] });
  const opsBefore = wg.operations.length;
  const refused = await rejection(negotiate(options([hop]), deps(wg, net, [])));
  assert.equal(refused.code, 'SETUP');
  assert.match(refused.message, /^wg0 already has a PSK for its relay .*--config-file/);
  assert.equal(exitCodeFor(refused), 2);
  assert.deepEqual(wg.operations.slice(opsBefore).map((o) => o.op), ['summary'], 'no private key read, no set');
  assert.equal(r.registrations.length, 0, 'no request sent');

  const events: ClientEvent[] = [];
  const parentKeys = new Map([['wg0', Uint8Array.from(parent.privateKey)]]);
  const err = await rejection(negotiate(options([hop], { verifyTimeoutMs: 400, parentKeys }), deps(wg, net, events)));
  assert.equal(err.code, 'VERIFY_FAILED');
  assert.match(err.message, /; wg0 back on its parent key, which works$/);
  assert.equal(r.registrations[0]!.parent, earlier.publicKey, 'the request named the key the run found');
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey, 'back on the parent key');
  assert.equal(wg.presharedKeyOf('wg0', relayKey), null, 'with no PSK');
  assert.ok(events.some((e) => e.kind === 'rolled-back' && e.working), 'and the tunnel works on it');
  assert.ok(parentKeys.get('wg0')!.every((b) => b === 0), 'the parent key is wiped after the run');
  assert.equal(exitCodeFor(err), 1);
});

/** Whether the simulated tunnel answers: a session on the interface's current key after a poke. */
function simAnswers(net: SimNetwork): (service: string) => Promise<boolean> {
  return async (service) => {
    await net.poke(service);
    return net.connect(service).then(
      () => true,
      () => false,
    );
  };
}

/** wg0 on an ephemeral key and PSK its relay no longer knows (a relay restart, a server-side `wg-quick down/up`). */
async function onForgottenKey(mode: Parameters<typeof startTestRelay>[0]) {
  const setup = await singleHop(mode);
  const forgotten = wgKeypair();
  await setup.wg.set('wg0', { privateKey: forgotten.privateKey, peers: [{ publicKey: setup.relayKey, presharedKey: Uint8Array.from({ length: 32 }, (_, i) => i + 7) }] });
  forgotten.privateKey.fill(0);
  return { ...setup, parentKeys: new Map([['wg0', Uint8Array.from(setup.parent.privateKey)]]) };
}

test('a one-shot run that gives up on an ephemeral key the relay forgot goes back to the parent key and shows it works: exit 1', async () => {
  const { wg, relayKey, parent, net, hop, parentKeys } = await onForgottenKey('wrong-length');
  const events: ClientEvent[] = [];
  const err = await rejection(negotiate(options([hop], { parentKeys }), deps(wg, net, events, { answers: simAnswers(net) })));
  assert.match(err.message, /^gave up after 1 attempt: .*HQC-256 ciphertext: expected 14421 bytes, got 14420; wg0 back on its parent key, which works \(its ephemeral key got no answer\)$/);
  assert.equal(exitCodeFor(err), 1);
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey, 'on the parent key');
  assert.equal(wg.presharedKeyOf('wg0', relayKey), null, 'with no PSK');
  assert.ok(events.some((e) => e.kind === 'rolled-back' && e.working));
});

test('a one-shot run that gives up on a working ephemeral key leaves it there: exit 1', async () => {
  const { wg, net, hop, parentKeys } = await onForgottenKey('wrong-length');
  const key = (await wg.show('wg0')).publicKey;
  const err = await rejection(negotiate(options([hop], { parentKeys }), deps(wg, net, [], { answers: async () => true })));
  assert.match(err.message, /; wg0 left on its ephemeral key, which works$/);
  assert.equal(exitCodeFor(err), 1);
  assert.equal((await wg.show('wg0')).publicKey, key);
});

test('a one-shot run that gives up with no answer on either key says so: TUNNEL_DOWN, exit 3', async () => {
  const { wg, parent, net, hop, parentKeys } = await onForgottenKey('wrong-length');
  // The relay's WireGuard is down: nothing answers, and no key gets a handshake.
  const silent = { poke: async () => undefined, connect: async () => Promise.reject(new Error('no session')) };
  const err = await rejection(negotiate(options([hop], { parentKeys }), deps(wg, net, [], { answers: async () => false, probe: silent })));
  assert.equal(err.code, 'TUNNEL_DOWN');
  assert.match(err.message, /; wg0 back on its parent key, but nothing answers through the tunnel on either key: is the relay's WireGuard up and reachable\?$/);
  assert.equal(exitCodeFor(err), 3);
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey, 'the parent key is the best bet left');
});

test('giving up with a config service that never answers: a handshake on the parent key still shows the tunnel works (exit 1, not 3)', async () => {
  const { wg, parent, net, hop, parentKeys } = await onForgottenKey('wrong-length');
  // A wrong --config-service: nothing answers there, but the relay's WireGuard takes the parent key.
  const err = await rejection(negotiate(options([hop], { parentKeys }), deps(wg, net, [], { answers: async () => false })));
  assert.equal(err.code, 'RPC_FAILURE');
  assert.match(err.message, /; wg0 back on its parent key, which works \(its ephemeral key got no answer\)$/);
  assert.equal(exitCodeFor(err), 1);
  assert.equal((await wg.show('wg0')).publicKey, parent.publicKey);
});

/** Multihop on the fake: entry wg-entry (outer), exit wg-exit reached through it. */
async function multihop(entryMode: Parameters<typeof startTestRelay>[0], exitMode: Parameters<typeof startTestRelay>[0]) {
  const wg = new FakeWgControl();
  const entryRelay = await relay(entryMode);
  const exitRelay = await relay(exitMode);
  const entryKey = wgKeypair().publicKey;
  const exitKey = wgKeypair().publicKey;
  const entryParent = await clientInterface(wg, 'wg-entry', entryKey, '10.64.0.1/32');
  const exitParent = await clientInterface(wg, 'wg-exit', exitKey, '10.65.0.1/32');
  const net = new SimNetwork(
    wg,
    new Map<string, SimRoute>([
      [entryRelay.address, { iface: 'wg-entry', relayPeer: entryKey, relay: entryRelay, parentPublicKey: entryParent.publicKey }],
      [exitRelay.address, { iface: 'wg-exit', relayPeer: exitKey, relay: exitRelay, parentPublicKey: exitParent.publicKey, via: entryRelay.address }],
    ]),
  );
  const hops: HopSpec[] = [
    { role: 'entry', iface: 'wg-entry', peer: null, service: entryRelay.address },
    { role: 'exit', iface: 'wg-exit', peer: null, service: exitRelay.address },
  ];
  return { wg, entryRelay, exitRelay, entryKey, exitKey, entryParent, exitParent, net, hops };
}

test('multihop: exit negotiated before entry, two independent PSKs, each matching its relay', async () => {
  const m = await multihop('good', 'good');
  const events: ClientEvent[] = [];
  const report = await negotiate(options(m.hops), deps(m.wg, m.net, events));
  const order = events.filter((e) => e.kind === 'exchanged').map((e) => (e.kind === 'exchanged' ? e.role : ''));
  assert.deepEqual(order, ['exit', 'entry']);
  assert.deepEqual(report.hops.map((h) => h.role), ['exit', 'entry']);
  const entryPsk = m.wg.presharedKeyOf('wg-entry', m.entryKey);
  const exitPsk = m.wg.presharedKeyOf('wg-exit', m.exitKey);
  assert.ok(equalBytes(entryPsk, m.entryRelay.registrations[0]!.psk));
  assert.ok(equalBytes(exitPsk, m.exitRelay.registrations[0]!.psk));
  assert.ok(!equalBytes(entryPsk, exitPsk), 'independent PSKs');
  assert.notEqual(report.hops[0]!.ephemeralPublicKey, report.hops[1]!.ephemeralPublicKey);
  assert.equal(m.exitRelay.registrations[0]!.parent, m.exitParent.publicKey);
  assert.equal(m.entryRelay.registrations[0]!.parent, m.entryParent.publicKey);
});

test('multihop: a failure on the entry rolls back both hops', async () => {
  const m = await multihop('wrong-ciphertext', 'good');
  const events: ClientEvent[] = [];
  const err = await rejection(negotiate(options(m.hops, { verifyTimeoutMs: 400 }), deps(m.wg, m.net, events)));
  assert.equal(err.code, 'VERIFY_FAILED');
  assert.equal((await m.wg.show('wg-entry')).publicKey, m.entryParent.publicKey);
  assert.equal((await m.wg.show('wg-exit')).publicKey, m.exitParent.publicKey);
  assert.equal(m.wg.presharedKeyOf('wg-entry', m.entryKey), null);
  assert.equal(m.wg.presharedKeyOf('wg-exit', m.exitKey), null);
  const rolled = events.flatMap((e) => (e.kind === 'rolled-back' ? [`${e.role}:${e.working}`] : []));
  assert.deepEqual(rolled, ['entry:true', 'exit:true'], 'outer tunnel checked first, both work again');
  assert.deepEqual(
    events.filter((e) => e.kind === 'switched').map((e) => (e.kind === 'switched' ? e.role : '')),
    ['exit', 'entry'],
  );
});

test('a config service routed outside the hop\'s interface is refused before any request: OUTSIDE_TUNNEL (exit 2), nothing sent, nothing switched', async () => {
  const { wg, relay: r, net, hop } = await singleHop();
  const setsBefore = setOps(wg).length;
  for (const dev of ['eth0', null]) {
    const err = await rejection(negotiate(options([hop]), deps(wg, net, [], { routeDevice: async () => dev })));
    assert.equal(err.code, 'OUTSIDE_TUNNEL');
    assert.equal(exitCodeFor(err), 2);
    assert.equal(
      err.message,
      `config service ${hop.service} is routed ${dev === null ? 'nowhere' : 'through eth0'}, not through wg0: refusing to send the request outside the tunnel`,
    );
  }
  assert.equal(r.registrations.length, 0, 'no request reached the relay');
  assert.equal(setOps(wg).length, setsBefore);
  const ok = await negotiate(options([hop]), deps(wg, net, [], { routeDevice: async () => 'wg0' }));
  assert.equal(ok.hops.length, 1);
});

test('multihop: each hop\'s service is routed through its own interface while it runs, exit first, then put back', async () => {
  const m = await multihop('good', 'good');
  const log: string[] = [];
  let current: string | null = null;
  const mssGuard: MssGuard = async (service, via) => {
    const previous = current;
    current = via;
    log.push(`route ${service} via ${via ?? 'kernel path'}`);
    return { applied: true, message: 'test route', undo: async () => { current = previous; log.push(`restore ${service}`); } };
  };
  const routeDevice: RouteDevice = async () => current;
  const report = await negotiate(options(m.hops), deps(m.wg, m.net, [], { mssGuard, routeDevice }));
  assert.deepEqual(report.hops.map((h) => h.role), ['exit', 'entry']);
  const exitService = m.hops.find((h) => h.role === 'exit')!.service;
  const entryService = m.hops.find((h) => h.role === 'entry')!.service;
  // Exchanges (exit, entry), then verification (entry, the outer tunnel, first), each inside its own route.
  assert.deepEqual(log, [
    `route ${exitService} via wg-exit`, `restore ${exitService}`,
    `route ${entryService} via wg-entry`, `restore ${entryService}`,
    `route ${entryService} via wg-entry`, `restore ${entryService}`,
    `route ${exitService} via wg-exit`, `restore ${exitService}`,
  ]);
  assert.equal(current, null, 'every route put back');
});

test('usage errors end at once with exit code 2 and touch nothing', async () => {
  const wg = new FakeWgControl();
  const parent = wgKeypair();
  wg.addInterface('wg0', { privateKey: parent.privateKey });
  await wg.set('wg0', { peers: [{ publicKey: wgKeypair().publicKey }, { publicKey: wgKeypair().publicKey }] });
  const net = new SimNetwork(wg, new Map());
  const hop: HopSpec = { role: 'single', iface: 'wg0', peer: null, service: '127.0.0.1:1' };
  const err = await rejection(negotiate(options([hop], { maxAttempts: null }), deps(wg, net, [])));
  assert.match(err.message, /wg0 has 2 peers; name the relay with --peer/);
  assert.equal(exitCodeFor(err), 2);
  const missing = await rejection(negotiate(options([{ ...hop, iface: 'wg9' }]), deps(wg, net, [])));
  assert.equal(exitCodeFor(missing), 2);
  const badPeer = await rejection(negotiate(options([{ ...hop, peer: wgKeypair().publicKey }]), deps(wg, net, [])));
  assert.equal(badPeer.code, 'NOT_FOUND');
  assert.equal(setOps(wg).length, 1);
});

test('options a caller got wrong are refused by their option names, before anything is read', async () => {
  const wg = new FakeWgControl();
  const net = new SimNetwork(wg, new Map());
  const hop: HopSpec = { role: 'single', iface: 'wg0', peer: null, service: '127.0.0.1:1' };
  const refused = async (extra: Partial<NegotiateOptions>, hops: HopSpec[] = [hop]): Promise<string> => (await rejection(negotiate(options(hops, extra), deps(wg, net, [])))).message;
  assert.equal(await refused({ maxAttempts: 0 }), 'maxAttempts: expected a whole number ≥ 1, got 0');
  assert.equal(await refused({ maxTotalMs: -1 }), 'maxTotalMs: expected a positive number of milliseconds, got -1');
  assert.equal(await refused({ verifyTimeoutMs: Number.NaN }), 'verifyTimeoutMs: expected a positive number of milliseconds, got NaN');
  const entry: HopSpec = { ...hop, role: 'entry' };
  assert.equal(await refused({}, [entry, { ...hop, role: 'exit' }]), 'hops: expected the entry and the exit on two different interfaces');
  assert.equal(wg.operations.length, 0);
});

test('verify retries the TCP connect while the relay moves allowed-ips; a service that never answers means rollback', async () => {
  const { wg, net, hop } = await singleHop('good');
  let refusals = 2;
  const connects: string[] = [];
  const flaky = {
    poke: (service: string) => net.poke(service),
    connect: async (service: string, timeoutMs: number) => {
      connects.push(`${service}/${timeoutMs}`);
      if (refusals-- > 0) throw new Error('ECONNREFUSED');
      return net.connect(service);
    },
  };
  const report = await negotiate(options([hop]), deps(wg, net, [], { probe: flaky }));
  assert.equal(connects.length, 3, 'two refused tries, then through');
  assert.equal((await wg.show('wg0')).publicKey, report.hops[0]!.ephemeralPublicKey);

  // Now a relay whose service never answers through the new session: handshake yes, TCP no.
  const { wg: wg2, net: net2, hop: hop2, parent: parent2, relayKey: relayKey2 } = await singleHop('good');
  let switched = false;
  const deaf = {
    poke: (service: string) => net2.poke(service),
    connect: async (service: string) => {
      if ((await wg2.show('wg0')).publicKey !== parent2.publicKey) {
        switched = true;
        throw new Error('timeout');
      }
      return net2.connect(service);
    },
  };
  const err = await rejection(negotiate(options([hop2], { verifyTimeoutMs: 500 }), deps(wg2, net2, [], { probe: deaf })));
  assert.ok(switched);
  assert.equal(err.code, 'VERIFY_FAILED');
  assert.match(err.message, /did not answer through the new session/);
  assert.equal((await wg2.show('wg0')).publicKey, parent2.publicKey);
  assert.equal(wg2.presharedKeyOf('wg0', relayKey2), null);
});

test('the connection to the config service opens while the interface is still being read, and the keys are made meanwhile', async () => {
  const { wg, net, hop } = await singleHop('good');
  // A plain TCP listener stands for the config service: only the connection is looked at.
  let connectedAt: 'before' | 'after' | null = null;
  let reading = true;
  const service = createServer((socket: Socket) => {
    connectedAt ??= reading ? 'before' : 'after';
    socket.destroy();
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(service.address() as AddressInfo).port}`;
  const generated: string[] = [];
  const realSummary = wg.summary.bind(wg);
  wg.summary = async (iface: string) => {
    // The read ends once the connection came and the keys are made, or after 2 s without.
    for (let i = 0; i < 200 && (connectedAt === null || keygens < kems.length); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    generated.push(`keys made: ${keygens}`);
    reading = false;
    return realSummary(iface);
  };
  let keygens = 0;
  const counted = kems.map((k) => ({ ...k, keygen: async () => (keygens++, k.keygen()) }) as Kem);
  try {
    const err = await rejection(negotiate(options([{ ...hop, service: address }]), deps(wg, net, [], { kems: counted, routeDevice: async () => 'wg0' })));
    assert.equal(err.code, 'RPC_FAILURE', 'a TCP listener is no config service');
    assert.equal(connectedAt, 'before');
    assert.deepEqual(generated, [`keys made: ${kems.length}`]);
  } finally {
    service.close();
  }
});

test('a TCP try whose SYN was dropped (the relay had not yet moved the route) does not hold verification: the next starts 20 ms later beside it, and the first is called off', async () => {
  const { wg, net, hop } = await singleHop('good');
  const tries: { at: number; timeoutMs: number; calledOff: boolean }[] = [];
  const lossy = {
    poke: (service: string) => net.poke(service),
    connect: (service: string, timeoutMs: number, signal?: AbortSignal) => {
      const entry = { at: net.clock.slept, timeoutMs, calledOff: false };
      tries.push(entry);
      if (tries.length > 1) return net.connect(service);
      // The first SYN is lost: no answer until this try's own end, or until it is called off.
      return new Promise<void>((_, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        signal?.addEventListener('abort', () => {
          entry.calledOff = true;
          clearTimeout(timer);
          reject(new Error('called off'));
        });
      });
    },
  };
  const report = await negotiate(options([hop]), deps(wg, net, [], { probe: lossy }));
  assert.equal((await wg.show('wg0')).publicKey, report.hops[0]!.ephemeralPublicKey);
  assert.equal(tries.length, 2);
  assert.equal(tries[1]!.at - tries[0]!.at, 20, 'the second try 20 ms after the first, not after the first gave up');
  assert.ok(tries[0]!.calledOff, 'the lost try is called off once the second got through');
});

test('many overlapping TCP tries (a relay slow to move the route) print no listener-leak warning', async () => {
  const { wg, net, hop } = await singleHop('good');
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  let tries = 0;
  const slow = {
    poke: (service: string) => net.poke(service),
    connect: (service: string, _timeoutMs: number, signal?: AbortSignal) => {
      if (++tries > 14) return net.connect(service);
      return new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('called off'))));
    },
  };
  try {
    await negotiate(options([hop]), deps(wg, net, [], { probe: slow }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tries, 15);
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('the system clock stepping an hour ahead during verification does not cut its window short', async () => {
  // At the first packet of the verification; the tunnel works, so it must pass.
  const ahead = await singleHop('good');
  let steppedAhead = false;
  const jumpAhead = {
    poke: async (service: string) => {
      if (!steppedAhead) ahead.net.clock.stepped += 3_600_000;
      steppedAhead = true;
      return ahead.net.poke(service);
    },
    connect: (service: string) => ahead.net.connect(service),
  };
  const report = await negotiate(options([ahead.hop]), deps(ahead.wg, ahead.net, [], { probe: jumpAhead }));
  assert.ok(steppedAhead);
  assert.equal((await ahead.wg.show('wg0')).publicKey, report.hops[0]!.ephemeralPublicKey);
});

test('the system clock stepping an hour back during verification does not stretch its window', async () => {
  // On a relay that never answers through the new session: the switch is rolled back
  // after its 500 ms window, not after an hour and 500 ms.
  const behind = await singleHop('good');
  let steppedBack = false;
  const jumpBack = {
    poke: async (service: string) => {
      if (!steppedBack) behind.net.clock.stepped -= 3_600_000;
      steppedBack = true;
      return behind.net.poke(service);
    },
    connect: async (service: string) => {
      if ((await behind.wg.show('wg0')).publicKey !== behind.parent.publicKey) throw new Error('timeout');
      return behind.net.connect(service);
    },
  };
  const err = await rejection(negotiate(options([behind.hop], { verifyTimeoutMs: 500 }), deps(behind.wg, behind.net, [], { probe: jumpBack })));
  assert.equal(err.code, 'VERIFY_FAILED');
  assert.ok(behind.net.clock.slept < 10_000, `waited ${behind.net.clock.slept} ms of virtual time`);
  assert.equal((await behind.wg.show('wg0')).publicKey, behind.parent.publicKey);
});
