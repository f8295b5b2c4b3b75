/**
 * End-to-end: `pqpsk negotiate --watch` against `pqpsk server` on the real bed. Rotation
 * under a running ping, a relay that forgets the ephemeral key, one manager per
 * interface, signals, and the one-shot run that used to hang after giving up. Every
 * packet starts in a namespace this file created; PSKs are compared as fingerprints.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MAIN_JS, buildMultihop, buildSingleHop, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer, type Bed, type BedProcess, type Multihop, type SingleHop } from '../../src/testbed/index.js';
import { encodeKeyBase64, generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { alive, currentKey, privateSingleHop, privateSingleHopWithParent, waitGone } from './helpers.js';
import { e2eSkip, requireBed } from './gate.js';

const skip = e2eSkip();
const TEST_RELAY = fileURLToPath(new URL('./test-relay.js', import.meta.url));

/** Every match of `pattern` (global) in the process's stderr so far. */
function lines(proc: BedProcess, pattern: RegExp): RegExpMatchArray[] {
  return [...proc.output().stderr.matchAll(pattern)];
}

/** Waits until `pattern` has matched at least `n` times in stderr. */
async function waitCount(proc: BedProcess, pattern: RegExp, n: number, timeoutMs: number): Promise<RegExpMatchArray[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = lines(proc, pattern);
    if (found.length >= n) return found;
    if (!proc.running) assert.fail(`watcher exited before ${n}× ${String(pattern)}:\n${proc.output().stderr}`);
    if (Date.now() > end) assert.fail(`${n}× ${String(pattern)} not seen within ${timeoutMs} ms:\n${proc.output().stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A ping every `intervalS` seconds for `count` packets; resolves to the packets sent and received. */
function pingStream(bed: Bed, ns: string, target: string, intervalS: number, count: number): Promise<{ sent: number; received: number }> {
  return bed.runIn(ns, ['ping', '-n', '-q', '-i', String(intervalS), '-W', '1', '-c', String(count), target], { timeoutMs: 600_000 }).then((r) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    assert.ok(m, `ping summary: ${r.stdout}${r.stderr}`);
    return { sent: Number(m[1]), received: Number(m[2]) };
  });
}

describe('negotiate --watch on the real bed: rotation, a forgetful relay, one manager, signals', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let configFile: string;
  let watcher: BedProcess | undefined;
  let server: BedProcess | undefined;

  before(async () => {
    requireBed();
    ({ bed, topology: t, dir, configFile } = await privateSingleHopWithParent('pqpsk-e2e-watch-'));
    server = await startRelayServer(bed, t.relay, dir);
  });
  after(async () => {
    await watcher?.stop('SIGKILL');
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const base = (): string[] => ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`];
  const startWatcher = (extra: string[]): BedProcess =>
    bed.spawnIn(t.client.namespace, [process.execPath, MAIN_JS, 'negotiate', ...base(), '--watch', '--config-file', configFile, ...extra]);

  /** The relay forgets the client's ephemeral key, as a relay reboot leaves it: peer gone, parent holds its addresses again. */
  async function relayForgets(ephemeral: string): Promise<void> {
    const r = await bed.runIn(t.relay.namespace, ['wg', 'set', t.relay.iface, 'peer', ephemeral, 'remove', 'peer', t.client.publicKey, 'allowed-ips', `${t.client.address}/32`]);
    assert.equal(r.exitCode, 0, r.stderr);
  }

  async function assertSamePskBothEnds(ephemeral: string): Promise<string> {
    const clientFp = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
    const relayFp = await peerPskFingerprint(t.relay.namespace, t.relay.iface, ephemeral);
    assert.ok(clientFp !== null, 'client holds a PSK');
    assert.equal(clientFp, relayFp, `PSK identical on both ends for ${ephemeral}`);
    return clientFp;
  }

  test('--rotate 5s under a ping every 100 ms: three rotations, each a new key with one PSK on both ends; loss per rotation reported', async (ctx) => {
    watcher = startWatcher(['--rotate', '5s']);
    await watcher.waitForOutput(/switched: .* on ephemeral key (\S+),/, 60_000);
    const ping = pingStream(bed, t.client.namespace, t.relay.gateway, 0.1, 220);
    const seen = new Set<string>();
    const rotated = /rotated: \S+ on ephemeral key (\S+), PSK fingerprint (\S+)/g;
    for (let n = 1; n <= 3; n++) {
      const found = await waitCount(watcher, rotated, n, 60_000);
      const key = found[n - 1]![1]!;
      if (n === found.length) {
        assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), key, 'the interface holds the reported key');
        assert.equal(await assertSamePskBothEnds(key), found[n - 1]![2]);
      }
      seen.add(key);
    }
    assert.equal(seen.size, 3, 'three different ephemeral keys');
    assert.ok(!seen.has(t.client.publicKey), 'never the parent key');
    const { sent, received } = await ping;
    const rotations = lines(watcher, rotated).length;
    const lostMs = (sent - received) * 100;
    ctx.diagnostic(`ping every 100 ms: ${sent} sent, ${received} received across ${rotations} rotations: about ${Math.round(lostMs / rotations)} ms lost per rotation`);
    assert.ok(received > 0);
  });

  test('the relay forgets the ephemeral key: traffic back on a new ephemeral key within 15 s', async (ctx) => {
    assert.ok(watcher?.running);
    // Rotation slower than the test, so only healing changes the key from here on.
    await watcher.stop('SIGTERM');
    watcher = startWatcher(['--rotate', '1h']);
    const first = await watcher.waitForOutput(/switched: \S+ on ephemeral key (\S+),/, 60_000);
    const before = lines(watcher, /switched: /g).length;
    const ping = pingStream(bed, t.client.namespace, t.relay.gateway, 0.1, 300);
    await new Promise((r) => setTimeout(r, 1000));
    const forgotAt = Date.now();
    await relayForgets(first[1]!);
    const healed = await waitCount(watcher, /switched: \S+ on ephemeral key (\S+),/g, before + 1, 60_000);
    const healedMs = Date.now() - forgotAt;
    const key = healed[healed.length - 1]![1]!;
    assert.notEqual(key, first[1]);
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), key);
    await assertSamePskBothEnds(key);
    const after = await pingStream(bed, t.client.namespace, t.relay.gateway, 0.2, 5);
    assert.equal(after.received, after.sent, 'traffic flows on the new key');
    ctx.diagnostic(`healed ${healedMs} ms after the relay forgot (watcher log:\n${watcher.output().stderr.split('\n').slice(-8).join('\n')})`);
    assert.ok(healedMs <= 15_000, `healed in ${healedMs} ms, goal ≤ 15 s`);
    await ping;
  });

  test('a second negotiate exits 2 naming the holder and changes nothing; SIGTERM exits 0 on a working tunnel', async () => {
    assert.ok(watcher?.running);
    const key = await currentKey(bed, t.client.namespace, t.client.iface);
    const started = Date.now();
    const second = await runNegotiate(bed, t.client.namespace, [...base(), '--max-attempts', '1'], 30_000);
    assert.equal(second.exitCode, 2, second.stderr);
    assert.ok(Date.now() - started < 10_000, 'within a few seconds');
    assert.match(second.stderr, new RegExp(`is managed by pqpsk pid \\d+ \\(negotiate --watch\\)`));
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), key, 'nothing changed');

    const status = await bed.runIn(t.client.namespace, [process.execPath, MAIN_JS, 'status', '--interface', t.client.iface, '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { protected: boolean; publicKey: string; pskFingerprint: string; watcherPid: number; state: string };
    assert.equal(s.protected, true);
    assert.equal(s.publicKey, key);
    assert.equal(s.state, 'protected');
    assert.equal(s.pskFingerprint, await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey));

    const exit = await watcher.stop('SIGTERM', 30_000);
    assert.equal(exit.exitCode, 0, watcher.output().stderr);
    watcher = undefined;
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), key, 'left on its working key');
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
  });

  test('one-shot --max-attempts 1 on a key the relay forgot: gives up, goes back to the parent key, which works, and exits (it used to hang)', async (ctx) => {
    const key = await currentKey(bed, t.client.namespace, t.client.iface);
    await relayForgets(key);
    const started = Date.now();
    const run = await runNegotiate(bed, t.client.namespace, [...base(), '--config-file', configFile, '--max-attempts', '1', '--timeout-scale', '0.25'], 60_000);
    const ms = Date.now() - started;
    assert.equal(run.exitCode, 1, `exit ${run.exitCode} after ${ms} ms: ${run.stderr}`);
    assert.match(run.stderr.trim().split('\n').pop() ?? '', /^pqpsk negotiate: gave up after 1 attempt: .*; \S+ back on its parent key, which works \(its ephemeral key got no answer\)$/);
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), t.client.publicKey);
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
    ctx.diagnostic(`exit ${run.exitCode} after ${ms} ms`);
    assert.ok(ms < 30_000, `exited ${ms} ms after start`);
  });

  test('a watcher started with --config-file on a key the relay forgot goes back to the parent key and switches again', async () => {
    const once = await runNegotiate(bed, t.client.namespace, [...base(), '--config-file', configFile, '--json']);
    assert.equal(once.exitCode, 0, once.stderr);
    await relayForgets(parseNegotiateJson(once.stdout).hops[0]!.ephemeralPublicKey);
    watcher = startWatcher(['--rotate', '1h']);
    const m = await watcher.waitForOutput(/switched: \S+ on ephemeral key (\S+),/, 90_000);
    assert.match(watcher.output().stderr, /going back to the parent key/);
    await assertSamePskBothEnds(m[1]!);
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
  });

  test('kill -9 of the watcher on an ephemeral key, restart with --config-file: it takes over and rotation continues', async () => {
    assert.ok(watcher?.running);
    const key = await currentKey(bed, t.client.namespace, t.client.iface);
    await watcher.stop('SIGKILL');
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), key, 'killed on an ephemeral key');
    watcher = startWatcher(['--rotate', '5s']);
    const first = await watcher.waitForOutput(/switched: \S+ on ephemeral key (\S+),/, 60_000);
    assert.notEqual(first[1], key);
    const rotated = await waitCount(watcher, /rotated: \S+ on ephemeral key (\S+),/g, 1, 60_000);
    await assertSamePskBothEnds(rotated[0]![1]!);
  });

  test('pqpsk server killed and restarted: the tunnel keeps working, and rotation continues', async () => {
    assert.ok(watcher?.running);
    await server?.stop('SIGKILL');
    server = undefined;
    const before = lines(watcher, /rotated: /g).length;
    const during = await pingStream(bed, t.client.namespace, t.relay.gateway, 0.2, 40);
    assert.equal(during.received, during.sent, 'no packet lost while the config service is down');
    assert.equal(lines(watcher, /rotated: /g).length, before, 'no rotation without a config service');
    server = await startRelayServer(bed, t.relay, dir);
    const rotated = await waitCount(watcher, /rotated: \S+ on ephemeral key (\S+),/g, before + 1, 90_000);
    const key = rotated[rotated.length - 1]![1]!;
    await assertSamePskBothEnds(key);
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
  });

  test('relay idle expiry (a 10 s idle TTL) while the client is silent, then traffic: healed', async () => {
    await watcher?.stop('SIGTERM');
    await server?.stop('SIGTERM');
    // `pqpsk server` refuses a TTL under 3 minutes; the relay itself takes any. It runs as
    // root in one process, which trusts only root's book: take back the state directory
    // that `pqpsk server`'s broker gave its unprivileged relay.
    const state = join(dir, t.relay.iface);
    for (const path of [state, ...(await readdir(state)).map((name) => join(state, name))]) await chown(path, 0, 0);
    server = bed.spawnIn(t.relay.namespace, [process.execPath, TEST_RELAY, t.relay.iface, `${t.relay.gateway}:1337`, state, 'ttl=10000']);
    await server.waitForOutput(/^listening/m, 30_000);
    watcher = startWatcher(['--rotate', '1h']);
    const m = await watcher.waitForOutput(/switched: \S+ on ephemeral key (\S+),/, 60_000);
    const before = lines(watcher, /switched: /g).length;
    // Silence: no traffic at all until the relay has dropped the idle ephemeral peer.
    const end = Date.now() + 60_000;
    while ((await bed.wg(t.relay.namespace).show(t.relay.iface)).peers.some((p) => p.publicKey === m[1])) {
      assert.ok(Date.now() < end, 'the relay expired the idle ephemeral peer');
      await new Promise((r) => setTimeout(r, 500));
    }
    const ping = pingStream(bed, t.client.namespace, t.relay.gateway, 0.1, 200);
    const healed = await waitCount(watcher, /switched: \S+ on ephemeral key (\S+),/g, before + 1, 60_000);
    // Checked at once: with a TTL this short the relay also expires the new key within
    // seconds (it measures idleness by handshakes, which traffic renews only every 2 min).
    const after = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(after.exitCode, 0, `traffic on the new key: ${after.stdout}`);
    await assertSamePskBothEnds(healed[healed.length - 1]![1]!);
    await ping;
  });
});

describe('the documented PostUp line under wg-quick, with the relay unreachable', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let iface: string;
  let conf: string;

  before(async () => {
    requireBed();
    ({ bed, topology: t, dir } = await privateSingleHop('pqpsk-e2e-postup-'));
    // No `pqpsk server`: the relay's WireGuard answers, its config service does not. The
    // bed's own client tunnel makes way for the one wg-quick brings up from a file.
    await bed.ip(t.client.namespace, 'link', 'del', t.client.iface);
    iface = `pqq${bed.suffix}`.slice(0, 15);
    const key = generatePrivateKey();
    const pub = publicKeyToText(publicKeyOf(key));
    const text = encodeKeyBase64('test parent key', key);
    key.fill(0);
    const r = await bed.runIn(t.relay.namespace, ['wg', 'set', t.relay.iface, 'peer', pub, 'allowed-ips', '10.64.0.3/32']);
    assert.equal(r.exitCode, 0, r.stderr);
    conf = join(dir, `${iface}.conf`);
    const postUp = `${process.execPath} ${MAIN_JS} negotiate --interface %i --config-service ${t.relay.gateway}:1337 --watch --background --log-file ${join(dir, 'watcher.log')}`;
    const body = [
      '[Interface]',
      `PrivateKey = ${Buffer.from(text).toString('latin1')}`,
      'Address = 10.64.0.3/32',
      `PostUp = ${postUp}`,
      '',
      '[Peer]',
      `PublicKey = ${t.relay.publicKey}`,
      `Endpoint = ${t.relay.endpoint}`,
      `AllowedIPs = ${t.relay.gateway}/32`,
      '',
    ].join('\n');
    text.fill(0);
    await writeFile(conf, body, { mode: 0o600 });
  });
  after(async () => {
    if (conf !== undefined) await bed?.runIn(t.client.namespace, ['wg-quick', 'down', conf]).catch(() => undefined);
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('wg-quick up returns 0 within 20 s, the interface carries traffic on its parent key, a watcher keeps trying; down stops it', async (ctx) => {
    const started = Date.now();
    const up = await bed.runIn(t.client.namespace, ['wg-quick', 'up', conf], { timeoutMs: 120_000 });
    const ms = Date.now() - started;
    ctx.diagnostic(`wg-quick up returned ${up.exitCode} after ${ms} ms: ${(up.stdout + up.stderr).split('\n').filter((l) => l.startsWith('pqpsk')).join(' | ')}`);
    assert.equal(up.exitCode, 0, up.stderr);
    assert.ok(ms <= 20_000, `wg-quick up took ${ms} ms`);
    assert.match(up.stdout + up.stderr, /watcher running, pid \d+/);
    const log = await readFile(join(dir, 'watcher.log'), 'utf8');
    assert.match(log, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z pqpsk: watching ${iface} `, 'm'), `the detached watcher's lines are in --log-file:\n${log}`);
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, `parent key carries traffic: ${ping.stdout}`);

    const status = await bed.runIn(t.client.namespace, [process.execPath, MAIN_JS, 'status', '--interface', iface, '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { protected: boolean; state: string; watcherPid: number | null; lastError: string | null; pskFingerprint: string | null };
    assert.equal(s.protected, false);
    assert.equal(s.pskFingerprint, null);
    assert.ok(s.watcherPid !== null && alive(s.watcherPid), 'a watcher is running');
    assert.ok(['starting', 'unprotected'].includes(s.state), s.state);

    const down = await bed.runIn(t.client.namespace, ['wg-quick', 'down', conf]);
    assert.equal(down.exitCode, 0, down.stderr);
    assert.deepEqual(await waitGone([s.watcherPid], 90_000), [], 'the watcher stops once the interface is gone');
  });
});

describe('negotiate --watch on the real bed: nested multihop', { skip }, () => {
  let m: Multihop;
  let dir: string;
  let watcher: BedProcess | undefined;

  before(async () => {
    requireBed();
    dir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-watch-multihop-'));
    m = await buildMultihop();
    await startRelayServer(m.bed, m.topology.exit, dir);
    await startRelayServer(m.bed, m.topology.entry, dir);
  });
  after(async () => {
    await watcher?.stop('SIGKILL');
    await m?.bed.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('--entry/--exit --watch --rotate 5s: both hops rotate, exit first, each PSK identical on its two ends', async () => {
    const { client, entry, exit } = m.topology;
    watcher = m.bed.spawnIn(client.namespace, [
      process.execPath, MAIN_JS, 'negotiate', '--entry', client.outer.iface, '--exit', client.inner.iface,
      '--entry-service', `${entry.serviceAddress}:1337`, '--exit-service', `${exit.serviceAddress}:1337`, '--watch', '--rotate', '5s',
    ]);
    const hop = (iface: string): RegExp => new RegExp(`${iface} on ephemeral key (\\S+), PSK fingerprint (\\S+)`);
    await watcher.waitForOutput(/switched: /, 90_000);
    const rotations = await waitCount(watcher, /rotated: ([^\n]+)/g, 2, 120_000);
    const keys = rotations.map((r) => [hop(client.inner.iface).exec(r[1]!)?.[1], hop(client.outer.iface).exec(r[1]!)?.[1]]);
    for (const [inner, outer] of keys) assert.ok(inner !== undefined && outer !== undefined, `both hops in every rotation: ${JSON.stringify(keys)}`);
    assert.ok(rotations[0]![1]!.indexOf(client.inner.iface) < rotations[0]![1]!.indexOf(client.outer.iface), 'exit first');
    assert.notEqual(keys[0]![0], keys[1]![0], 'the exit hop got a new key');
    assert.notEqual(keys[0]![1], keys[1]![1], 'the entry hop got a new key');
    const last = rotations[rotations.length - 1]![1]!;
    const current = lines(watcher, /rotated: ([^\n]+)/g);
    if (current[current.length - 1]![1] === last) {
      for (const [iface, relay] of [[client.inner.iface, exit], [client.outer.iface, entry]] as const) {
        const key = hop(iface).exec(last)![1]!;
        const clientFp = await peerPskFingerprint(client.namespace, iface, relay.publicKey);
        assert.equal(clientFp, await peerPskFingerprint(relay.namespace, relay.iface, key), `${iface}: PSK identical on both ends`);
      }
    }
    const ping = await m.bed.ping(client.namespace, exit.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
  });
});

describe('negotiate --watch against a relay that accepts registrations only from the parent tunnel', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let watcher: BedProcess | undefined;

  before(async () => {
    requireBed();
    dir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-watch-refusing-'));
    await chmod(dir, 0o700);
    const built = await buildSingleHop();
    bed = built.bed;
    t = built.topology;
    const relay = bed.spawnIn(t.relay.namespace, [process.execPath, TEST_RELAY, t.relay.iface, `${t.relay.gateway}:1337`, dir, 'parent-tunnel-only']);
    await relay.waitForOutput(/^listening/m, 30_000);
  });
  after(async () => {
    await watcher?.stop('SIGKILL');
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('PERMISSION_DENIED for the live ephemeral: rotation still happens, through the parent key', async () => {
    watcher = bed.spawnIn(t.client.namespace, [
      process.execPath, MAIN_JS, 'negotiate', '--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--watch', '--rotate', '5s',
    ]);
    await watcher.waitForOutput(/switched: /, 60_000);
    const rotated = await waitCount(watcher, /rotated: \S+ on ephemeral key (\S+), PSK fingerprint (\S+)/g, 2, 120_000);
    const log = watcher.output().stderr;
    assert.match(log, /negotiation failed \(.*parent key does not match/);
    assert.match(log, /going back to the parent key/);
    assert.notEqual(rotated[0]![1], rotated[1]![1]);
    const now = lines(watcher, /rotated: \S+ on ephemeral key (\S+), PSK fingerprint (\S+)/g);
    const last = now[now.length - 1]!;
    if (last[1] === (await currentKey(bed, t.client.namespace, t.client.iface))) {
      assert.equal(await peerPskFingerprint(t.relay.namespace, t.relay.iface, last[1]!), last[2]);
    }
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, ping.stdout);
  });
});
