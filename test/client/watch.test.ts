/**
 * The watcher's runtime on the in-memory fake, a test relay and a virtual clock: an hour
 * of rotations runs in moments, and nothing sleeps for real.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClientKems } from '../../src/client/kems.js';
import { TunnelWatcher, type WatchDeps } from '../../src/client/watch.js';
import { DEFAULT_POLICY } from '../../src/client/watch-policy.js';
import type { Kem } from '../../src/kem/types.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { clientInterface, SimNetwork, simWatchDeps, startTestRelay, wgKeypair, type TestRelay } from './helpers.js';

let kems: Kem[];
let relay: TestRelay;

before(async () => {
  kems = createClientKems(['ML-KEM-1024', 'HQC-256']);
  relay = await startTestRelay('good');
});
after(() => relay.close());

test('first switch, a rotation each period, SIGHUP rotates at once, stop leaves the working key, an interface that goes away stops it', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const net = new SimNetwork(wg, new Map([[relay.address, { iface: 'wg0', relayPeer: relayKey, relay, parentPublicKey: parent.publicKey }]]));
  const clock = net.clock;
  const seen: { line: string; at: number }[] = [];
  let present = true;
  let watcher: TunnelWatcher | undefined;
  const realStart = Date.now();
  const startedAt = clock.now();
  watcher = await TunnelWatcher.open(
    {
      hops: [{ role: 'single', iface: 'wg0', peer: null, service: relay.address }],
      policy: { ...DEFAULT_POLICY, rotateMs: 600_000 },
      timeoutScale: 1,
      verifyTimeoutMs: 1500,
      tickMs: 2000,
      probeTimeoutMs: 2000,
    },
    simWatchDeps(
      wg,
      kems,
      net,
      (line) => {
        seen.push({ line, at: clock.now() });
        const rotations = seen.filter((s) => s.line.startsWith('rotated: ')).length;
        if (line.startsWith('rotated: ') && rotations === 2) watcher?.rotateNow();
        if (line.startsWith('rotated: ') && rotations === 3) present = false;
      },
      { interfaceIndex: () => (present ? 7 : null) },
    ),
  );
  const registrationsBefore = relay.registrations.length;
  await watcher.run();
  const keyLines = seen.filter((s) => /^(switched|rotated): /.test(s.line));
  assert.deepEqual(keyLines.map((s) => s.line.split(':')[0]), ['switched', 'rotated', 'rotated', 'rotated']);
  const [first, r1, r2, r3] = keyLines.map((s) => s.at - startedAt);
  assert.ok(r1! - first! >= 600_000 && r1! - first! < 605_000, `first rotation one period after the switch (${r1! - first!} ms)`);
  assert.ok(r2! - r1! >= 600_000 && r2! - r1! < 605_000, 'the second one period later');
  assert.ok(r3! - r2! < 5_000, 'SIGHUP: at once');
  assert.ok(seen.some((s) => s.line === 'wg0 is gone; stopping'));
  assert.equal(relay.registrations.length - registrationsBefore, 4, 'one registration per switch');
  const last = relay.registrations[relay.registrations.length - 1]!;
  assert.equal((await wg.show('wg0')).publicKey, last.ephemeral, 'left on the working key');
  assert.equal(last.parent, relay.registrations[relay.registrations.length - 2]!.ephemeral, 'rotated from the live ephemeral key');
  assert.equal(watcher.status().rotations, 3);
  assert.equal(watcher.status().protected, true);
  watcher.close();
  assert.ok(Date.now() - realStart < 60_000, 'twenty virtual minutes, not real ones');
});

test('started on a PSK an earlier run set (never read back): a failed first switch goes back to the parent key, and the next attempt switches from there', async () => {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const earlier = wgKeypair();
  await wg.set('wg0', { privateKey: earlier.privateKey, peers: [{ publicKey: relayKey, presharedKey: Uint8Array.from({ length: 32 }, (_, i) => i + 7) }] });
  const net = new SimNetwork(wg, new Map([[relay.address, { iface: 'wg0', relayPeer: relayKey, relay, parentPublicKey: parent.publicKey }]]));
  const registrationsBefore = relay.registrations.length;
  relay.queue.push('wrong-ciphertext');
  const lines: string[] = [];
  let watcher: TunnelWatcher | undefined;
  watcher = await TunnelWatcher.open(
    {
      hops: [{ role: 'single', iface: 'wg0', peer: null, service: relay.address }],
      policy: { ...DEFAULT_POLICY, rotateMs: 600_000 },
      timeoutScale: 1,
      verifyTimeoutMs: 400,
      tickMs: 2000,
      probeTimeoutMs: 2000,
      parentKeys: new Map([['wg0', Uint8Array.from(parent.privateKey)]]),
    },
    simWatchDeps(wg, kems, net, (line) => {
      lines.push(line);
      if (/^(switched|rotated): /.test(line)) watcher?.stop();
    }),
  );
  assert.equal(watcher.status().onEphemeral, true, 'the watcher knows it starts on an ephemeral key');
  await watcher.run();
  watcher.close();
  assert.match(lines.find((l) => l.startsWith('negotiation failed')) ?? '', /; on the parent key;/);
  assert.ok(lines.some((l) => l.startsWith('switched: ')), 'a first switch, not a rotation');
  const [first, second] = relay.registrations.slice(registrationsBefore);
  assert.equal(first?.parent, earlier.publicKey, 'the first request named the key the watcher found');
  assert.equal(second?.parent, parent.publicKey, 'the next one, after the rollback, the parent key');
  assert.equal((await wg.show('wg0')).publicKey, second.ephemeral);
  assert.equal(watcher.status().protected, true);
});

/** A watcher on wg0 with the test relay, `extra` deps on top; its log lines land in `lines`. */
async function openWatcher(wg: FakeWgControl, lines: string[], extra: Partial<WatchDeps>, verifyTimeoutMs = 1500): Promise<{ watcher: TunnelWatcher }> {
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const net = new SimNetwork(wg, new Map([[relay.address, { iface: 'wg0', relayPeer: relayKey, relay, parentPublicKey: parent.publicKey }]]));
  const watcher = await TunnelWatcher.open(
    {
      hops: [{ role: 'single', iface: 'wg0', peer: null, service: relay.address }],
      policy: { ...DEFAULT_POLICY, rotateMs: 600_000 },
      timeoutScale: 1,
      verifyTimeoutMs,
      tickMs: 2000,
      probeTimeoutMs: 2000,
      interfaceIndexes: new Map([['wg0', 7]]),
    },
    simWatchDeps(wg, kems, net, (line) => lines.push(line), extra),
  );
  return { watcher };
}

/** Key or PSK changes the watcher made on the fake. */
function keyChanges(wg: FakeWgControl): number {
  return wg.operations.filter((o) => o.op === 'set' && o.failed === undefined).length;
}

test('wg-quick down while the relay has not answered yet: the watcher stops within a second of real time, touching nothing', async () => {
  const wg = new FakeWgControl();
  const lines: string[] = [];
  let deleted = false;
  let called = (): void => undefined;
  const calledOnce = new Promise<void>((resolve) => (called = resolve));
  const { watcher } = await openWatcher(wg, lines, {
    interfaceIndex: () => (deleted ? null : 7),
    // A relay that never answers: the attempt would last its whole 8 s window.
    call: () => {
      called();
      return new Promise(() => undefined);
    },
  });
  const changesBefore = keyChanges(wg);
  const running = watcher.run();
  await calledOnce;
  const deletedAt = performance.now();
  deleted = true;
  await running;
  const ms = performance.now() - deletedAt;
  watcher.close();
  assert.ok(ms < 1000, `stopped ${Math.round(ms)} ms after the interface went`);
  assert.ok(lines.includes('wg0 is gone; stopping'), lines.join('\n'));
  assert.ok(!lines.some((l) => l.startsWith('negotiation failed')), 'an abandoned attempt is no failure to report');
  assert.equal(keyChanges(wg), changesBefore, 'no key change');
  assert.equal(watcher.stopping, true, 'the lock tells a new run this watcher is on its way out');
});

test('the interface replaced by a new one of the same name mid-verification: no rollback is written into the new one', async () => {
  const wg = new FakeWgControl();
  const lines: string[] = [];
  let index = 7;
  let look = (): void => undefined;
  const { watcher } = await openWatcher(
    wg,
    lines,
    {
      interfaceIndex: () => index,
      repeat: (check) => {
        look = check;
        return () => undefined;
      },
      // The switched tunnel never handshakes; while verification waits, wg-quick down and up run.
      probe: {
        poke: async () => {
          index = 9;
          look();
        },
        connect: async () => {
          throw new Error('no session');
        },
      },
    },
    5_000,
  );
  const changesBefore = keyChanges(wg);
  await watcher.run();
  watcher.close();
  assert.ok(lines.includes('wg0 was replaced by a new interface of that name; stopping'), lines.join('\n'));
  assert.equal(keyChanges(wg), changesBefore + 1, 'the switch, and no rollback after it');
});

/** A watcher on wg0 whose relay link carries `traffic` and answers probes as `answers` says, stopped by `until`. */
async function watchLines(answers: boolean, until: (line: string) => boolean, ticksBeforeSilence = 0): Promise<string[]> {
  const wg = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(wg, 'wg0', relayKey, '10.64.0.1/32');
  const net = new SimNetwork(wg, new Map([[relay.address, { iface: 'wg0', relayPeer: relayKey, relay, parentPublicKey: parent.publicKey }]]));
  const lines: string[] = [];
  let tx = 0;
  let ticks = 0;
  let probes = 0;
  const watcher: TunnelWatcher = await TunnelWatcher.open(
    { hops: [{ role: 'single', iface: 'wg0', peer: null, service: relay.address }], policy: { ...DEFAULT_POLICY, rotateMs: 3_600_000 }, timeoutScale: 1, verifyTimeoutMs: 1500, tickMs: 2000, probeTimeoutMs: 2000 },
    simWatchDeps(
      wg,
      kems,
      net,
      (line) => {
        lines.push(line);
        if (until(line)) watcher.stop();
      },
      {
        // Keepalives go out, nothing comes back: what an idle tunnel looks like between probes.
        traffic: async () => ({ rx: 0, tx: ++ticks > ticksBeforeSilence ? (tx += 148) : tx }),
        answers: async () => {
          if (++probes >= 3 && answers) watcher.stop();
          return answers;
        },
      },
    ),
  );
  try {
    await watcher.run();
  } finally {
    watcher.close();
  }
  return lines;
}

test('an idle healthy tunnel: suspicions that a probe clears are not logged', async () => {
  const lines = await watchLines(true, () => false);
  assert.ok(lines.some((l) => l.startsWith('switched: ')), lines.join('\n'));
  assert.deepEqual(lines.filter((l) => /suspect/.test(l)), [], 'no unresolved "tunnel suspect" line');
});

test('a suspicion a probe confirms is logged once, with its cause and its outcome', async () => {
  const lines = await watchLines(false, (l) => l.startsWith('tunnel suspect'));
  assert.deepEqual(lines.filter((l) => /suspect/.test(l)), ['tunnel suspect (traffic went out and nothing came back for 1.5 s), a probe went unanswered: tunnel dead: the relay does not answer the ephemeral key']);
});
