/**
 * End-to-end: `pqpsk negotiate` against `pqpsk server` (or a relay that misbehaves on
 * purpose) on the real bed — wireguard-go in per-run namespaces. Every packet starts in a
 * namespace this file created; the root namespace only runs `ip`/`wg`. PSKs are read into
 * memory and compared as fingerprints, never printed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  MAIN_JS,
  buildMultihop,
  buildSingleHop,
  parseNegotiateJson,
  peerPskFingerprint,
  runNegotiate,
  startRelayServer,
  type Bed,
  type BedProcess,
  type Multihop,
  type SingleHop,
} from '../../src/testbed/index.js';
import { writeParentConfig } from '../../src/testbed/index.js';
import { currentKey } from './helpers.js';
import { readParentKey } from '../../src/client/config-file.js';
import { e2eSkip, requireBed } from './gate.js';

const skip = e2eSkip();
const MISBEHAVING_RELAY = fileURLToPath(new URL('../client/misbehaving-relay.js', import.meta.url));

async function assertPing(bed: Bed, ns: string, target: string): Promise<void> {
  const ping = await bed.ping(ns, target);
  assert.equal(ping.exitCode, 0, `ping ${target}: ${ping.stdout}${ping.stderr}`);
}

/** The route as `ip route show` prints it: the text form shows locks and units, which the JSON form drops. */
async function routeOf(bed: Bed, ns: string, cidr: string): Promise<string> {
  return (await bed.ip(ns, 'route', 'show', 'exact', cidr)).stdout.trim();
}

describe('negotiate on the real bed: single hop, a kill -9, then faults that end with a working tunnel', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let stateDir: string;
  let server: BedProcess | undefined;
  /** The parent key as wg-quick's file holds it: a run that finds the tunnel on a PSK needs it. */
  let configFile: string;
  /** The client key and PSK fingerprint (null: none) the tunnel was last left on, working. */
  let live: { key: string; fingerprint: string | null } | undefined;

  before(async () => {
    requireBed();
    stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-negotiate-'));
    const built = await buildSingleHop();
    bed = built.bed;
    t = built.topology;
    configFile = join(stateDir, `${t.client.iface}.conf`);
    await writeParentConfig(bed, t.client.namespace, t.client.iface, configFile);
    server = await startRelayServer(bed, t.relay, stateDir);
  });
  after(async () => {
    await bed?.teardown();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  const args = (): string[] => ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--config-file', configFile];

  /** Both ends hold one PSK for the ephemeral peer, and it is the one reported. */
  async function assertSwitched(json: ReturnType<typeof parseNegotiateJson>): Promise<void> {
    const hop = json.hops[0]!;
    assert.equal(hop.peer, t.relay.publicKey);
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), hop.ephemeralPublicKey, 'client holds the ephemeral key');
    const clientFp = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
    const relayFp = await peerPskFingerprint(t.relay.namespace, t.relay.iface, hop.ephemeralPublicKey);
    assert.ok(clientFp !== null);
    assert.equal(clientFp, relayFp, 'PSK identical on both ends');
    assert.equal(clientFp, hop.pskFingerprint);
    const relayPeers = (await bed.wg(t.relay.namespace).show(t.relay.iface)).peers;
    assert.deepEqual(relayPeers.find((p) => p.publicKey === hop.ephemeralPublicKey)?.allowedIps, ['10.64.0.2/32'], 'relay moved the allowed-ips');
    await assertPing(bed, t.client.namespace, t.relay.gateway);
    live = { key: hop.ephemeralPublicKey, fingerprint: clientFp };
  }

  /** After a failed run: same key, same PSK, tunnel working. */
  async function assertUnchanged(): Promise<void> {
    assert.ok(live);
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), live.key, 'left on the key it started from');
    assert.equal(await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey), live.fingerprint, 'and its PSK');
    await assertPing(bed, t.client.namespace, t.relay.gateway);
  }

  test('switch: PSK identical on both ends, client on the ephemeral key, relay moved allowed-ips, ping works, MSS route restored', async (ctx) => {
    const routeBefore = await routeOf(bed, t.client.namespace, '10.64.0.1/32');
    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--json', '--verbose']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /mss guard for 10\.64\.0\.1:1337: route 10\.64\.0\.1\/32 .*advmss 496 mtu lock 536/);
    const json = parseNegotiateJson(run.stdout);
    assert.notEqual(json.hops[0]!.ephemeralPublicKey, json.hops[0]!.parentPublicKey);
    assert.equal(json.hops[0]!.parentPublicKey, t.client.publicKey);
    await assertSwitched(json);
    assert.equal(await routeOf(bed, t.client.namespace, '10.64.0.1/32'), routeBefore, 'the clamp is undone');
    ctx.diagnostic(`timings ${JSON.stringify(json.hops[0]!.timings)} total ${json.totalMs} ms`);
    // No watcher: status knows the key is pqpsk's from what the run noted beside its lock.
    const status = await bed.runIn(t.client.namespace, [process.execPath, MAIN_JS, 'status', '--interface', t.client.iface]);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${t.client.iface}: post-quantum protected \\(no watcher running\\)$`, 'm'));
    assert.match(status.stdout, new RegExp(`^ {2}PSK fingerprint {2}${json.hops[0]!.pskFingerprint}$`, 'm'));
  });

  test('on an ephemeral key, the parent key from a networkd .netdev (PrivateKeyFile) or a raw `wg genkey` file: switched again', async () => {
    const key = await readParentKey(configFile);
    const keyFile = join(stateDir, `${t.client.iface}.key`);
    const netdev = join(stateDir, `${t.client.iface}.netdev`);
    try {
      await writeFile(keyFile, `${Buffer.from(key).toString('base64')}\n`, { mode: 0o640 });
      await writeFile(netdev, `[NetDev]\nName=${t.client.iface}\nKind=wireguard\n\n[WireGuard]\nPrivateKeyFile=${keyFile}\n`, { mode: 0o644 });
    } finally {
      key.fill(0);
    }
    const base = ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`];
    const refused = await runNegotiate(bed, t.client.namespace, base);
    assert.equal(refused.exitCode, 2, 'without the parent key a run on an ephemeral key is refused');
    assert.match(refused.stderr, /already has a PSK for its relay .*parent key is not known/);
    for (const file of [netdev, keyFile]) {
      const run = await runNegotiate(bed, t.client.namespace, [...base, '--config-file', file, '--json']);
      assert.equal(run.exitCode, 0, `${file}: ${run.stderr}`);
      await assertSwitched(parseNegotiateJson(run.stdout));
    }
  });

  test('an existing route to the service keeps its locked MTU and its RTT once the clamp is undone', async () => {
    const cidr = '10.64.0.1/32';
    const original = await routeOf(bed, t.client.namespace, cidr);
    await bed.ip(t.client.namespace, 'route', 'replace', cidr, 'dev', t.client.iface, 'mtu', 'lock', '1380', 'rtt', '12ms');
    try {
      const before = await routeOf(bed, t.client.namespace, cidr);
      assert.match(before, /mtu lock 1380 rtt 12ms/);
      const run = await runNegotiate(bed, t.client.namespace, [...args(), '--json', '--verbose']);
      assert.equal(run.exitCode, 0, run.stderr);
      assert.match(run.stderr, /advmss 496 mtu lock 536 \(existing route, restored after\)/);
      await assertSwitched(parseNegotiateJson(run.stdout));
      assert.equal(await routeOf(bed, t.client.namespace, cidr), before);
    } finally {
      if (original === '') await bed.ip(t.client.namespace, 'route', 'del', cidr);
      else await bed.ip(t.client.namespace, 'route', 'replace', cidr, 'dev', t.client.iface);
    }
    assert.equal(await routeOf(bed, t.client.namespace, cidr), original, 'the bed is as it was for the next tests');
  });

  test('--kem Classic-McEliece-460896f-round3,ML-KEM-1024: the 526 KB request Mullvad\'s wg-quick tool sends, switched and verified', async () => {
    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--kem', 'Classic-McEliece-460896f-round3,ML-KEM-1024', '--json']);
    assert.equal(run.exitCode, 0, run.stderr);
    const json = parseNegotiateJson(run.stdout);
    assert.deepEqual(json.hops[0]!.algorithms, ['Classic-McEliece-460896f-round3', 'ML-KEM-1024']);
    await assertSwitched(json);
  });

  test('client killed with -9 between switch and verify: a re-run recovers from the live ephemeral key', async () => {
    const proc = bed.spawnIn(t.client.namespace, [process.execPath, MAIN_JS, 'negotiate', ...args(), '--verbose', '--hold-after-switch', '30000']);
    const m = await proc.waitForOutput(/negotiated, ephemeral key (\S+),/, 30_000);
    await proc.waitForOutput(/: switched/, 30_000);
    const exit = await proc.stop('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), m[1], 'killed after the switch, before verification');
    assert.ok(await routeOf(bed, t.client.namespace, '10.64.0.1/32').then((r) => r.includes('advmss')), 'the clamp was left behind');

    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--json']);
    assert.equal(run.exitCode, 0, run.stderr);
    const json = parseNegotiateJson(run.stdout);
    assert.equal(json.hops[0]!.parentPublicKey, m[1], 'the re-run authenticated from the key it found');
    await assertSwitched(json);
    const cleared = await routeOf(bed, t.client.namespace, '10.64.0.1/32');
    assert.ok(!cleared.includes('advmss') && !cleared.includes('mtu'), `the leftover clamp is cleared: ${cleared}`);
  });

  test('a config service routed outside the tunnel: refused with exit 2 before any request, tunnel untouched', async () => {
    const links = JSON.parse((await bed.ip(t.client.namespace, '-j', 'link', 'show')).stdout) as { ifname: string; link_type: string }[];
    const underlay = links.find((l) => l.link_type === 'ether')!.ifname;
    const keyBefore = await currentKey(bed, t.client.namespace, t.client.iface);
    const routeBefore = await routeOf(bed, t.client.namespace, '10.64.0.1/32');
    // As a split tunnel or a LAN on 10.64.0.0/10 would: the service address leaves by the underlay.
    await bed.ip(t.client.namespace, 'route', 'replace', '10.64.0.1/32', 'dev', underlay);
    try {
      const run = await runNegotiate(bed, t.client.namespace, [...args(), '--no-mss-clamp']);
      assert.equal(run.exitCode, 2, run.stderr);
      assert.equal(
        run.stderr.trim(),
        `pqpsk negotiate: config service ${t.relay.gateway}:1337 is routed through ${underlay}, not through ${t.client.iface}: refusing to send the request outside the tunnel`,
      );
      assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), keyBefore);
    } finally {
      await bed.ip(t.client.namespace, 'route', 'replace', '10.64.0.1/32', 'dev', t.client.iface);
    }
    assert.equal(await routeOf(bed, t.client.namespace, '10.64.0.1/32'), routeBefore);
  });

  test('no server listening: retries on the scaled schedule, gives up with exit 1 on the parent key, which works', async () => {
    // A stopped relay gives its parents their addresses back and removes the ephemeral
    // peers: the run, on an ephemeral key, finds no answer there and goes back.
    await server?.stop('SIGTERM');
    server = undefined;
    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--verbose', '--max-attempts', '3', '--timeout-scale', '0.01', '--verify-timeout', '3s']);
    assert.equal(run.exitCode, 1, run.stderr);
    const timeouts = [...run.stderr.matchAll(/attempt \d \(timeout (\d+) ms\)/g)].map((x) => Number(x[1]));
    assert.deepEqual(timeouts, [80, 160, 320]);
    assert.match(run.stderr.trim().split('\n').pop() ?? '', /^pqpsk negotiate: gave up after 3 attempts: .*; \S+ back on its parent key, which works \(its ephemeral key got no answer\)$/);
    live = { key: t.client.publicKey, fingerprint: null };
    await assertUnchanged();
  });

  async function withMisbehavingRelay(mode: string, body: () => Promise<void>): Promise<void> {
    const relay = bed.spawnIn(t.relay.namespace, [process.execPath, MISBEHAVING_RELAY, mode, `${t.relay.gateway}:1337`, t.relay.iface]);
    try {
      await relay.waitForOutput(/^listening/m, 20_000);
      await body();
    } finally {
      await relay.stop('SIGTERM');
    }
  }

  test('a relay answering a wrong-length ciphertext: typed error naming it, no switch', async () => {
    await withMisbehavingRelay('wrong-length', async () => {
      const run = await runNegotiate(bed, t.client.namespace, [...args(), '--max-attempts', '1']);
      assert.equal(run.exitCode, 1, run.stderr);
      assert.match(run.stderr, /HQC-256 ciphertext: expected 14421 bytes, got 14420/);
      assert.equal(run.stderr.trim().split('\n').length, 1, 'one line on failure');
      await assertUnchanged();
    });
  });

  /**
   * Puts the tunnel back on its parent key, as a relay that has seen the parent handshake
   * leaves it: the client on the parent key without a PSK, the relay routing the client's
   * address to the parent peer (no `pqpsk server` runs here to move it).
   */
  async function backToParent(): Promise<void> {
    const key = await readParentKey(configFile);
    try {
      await bed.wg(t.client.namespace).set(t.client.iface, { privateKey: key, peers: [{ publicKey: t.relay.publicKey, presharedKey: null }] });
    } finally {
      key.fill(0);
    }
    await bed.wg(t.relay.namespace).set(t.relay.iface, { peers: [{ publicKey: t.client.publicKey, allowedIps: [`${t.client.address}/32`] }] });
    await assertPing(bed, t.client.namespace, t.relay.gateway);
  }

  test('a relay answering well-formed wrong ciphertexts: the switch fails verification and is rolled back to the parent key', async () => {
    await backToParent();
    await withMisbehavingRelay('wrong-ciphertext', async () => {
      const run = await runNegotiate(bed, t.client.namespace, [...args(), '--max-attempts', '1', '--verify-timeout', '3s', '--verbose']);
      assert.equal(run.exitCode, 1, run.stderr);
      assert.match(run.stderr, /: switched\n/);
      assert.match(run.stderr, /no handshake with the relay within 3000 ms/);
      assert.match(run.stderr, /rolled back, tunnel works/);
      assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), t.client.publicKey, 'on the parent key');
      assert.equal(await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey), null, 'with no PSK');
      await assertPing(bed, t.client.namespace, t.relay.gateway);
    });
  });
});

describe('negotiate on the real bed: nested multihop', { skip }, () => {
  let m: Multihop;
  let stateDir: string;

  before(async () => {
    requireBed();
    stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-multihop-'));
    m = await buildMultihop();
    await startRelayServer(m.bed, m.topology.exit, stateDir);
    await startRelayServer(m.bed, m.topology.entry, stateDir);
  });
  after(async () => {
    await m?.bed.teardown();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  test('both relays on 10.64.0.1: exit before entry, each asked through its own interface, two independent PSKs each identical on its two ends, ping 10.65.0.1 through both tunnels', async (ctx) => {
    const { client, entry, exit } = m.topology;
    const routeBefore = await routeOf(m.bed, client.namespace, '10.64.0.1/32');
    const run = await runNegotiate(m.bed, client.namespace, ['--entry', client.outer.iface, '--exit', client.inner.iface, '--json', '--verbose']);
    assert.equal(run.exitCode, 0, run.stderr);
    const exitAt = run.stderr.indexOf(`exit ${client.inner.iface}: negotiated`);
    const entryAt = run.stderr.indexOf(`entry ${client.outer.iface}: negotiated`);
    assert.ok(exitAt >= 0 && entryAt > exitAt, `exit before entry:\n${run.stderr}`);
    const json = parseNegotiateJson(run.stdout);
    const fps: string[] = [];
    for (const [role, iface, relay] of [['exit', client.inner.iface, exit], ['entry', client.outer.iface, entry]] as const) {
      const hop = json.hops.find((h) => h.role === role)!;
      assert.equal(await currentKey(m.bed, client.namespace, iface), hop.ephemeralPublicKey);
      const clientFp = await peerPskFingerprint(client.namespace, iface, relay.publicKey);
      const relayFp = await peerPskFingerprint(relay.namespace, relay.iface, hop.ephemeralPublicKey);
      assert.ok(clientFp !== null);
      assert.equal(clientFp, relayFp, `${role}: PSK identical on both ends`);
      fps.push(clientFp);
    }
    assert.notEqual(fps[0], fps[1], 'independent PSKs');
    // Both relays answer on 10.64.0.1: each hop was asked through its own interface.
    assert.equal(entry.serviceAddress, exit.serviceAddress);
    assert.match(run.stderr, new RegExp(`mss guard for 10\\.64\\.0\\.1:1337: route 10\\.64\\.0\\.1/32 dev ${client.inner.iface} advmss 496 mtu lock 536`));
    assert.match(run.stderr, new RegExp(`mss guard for 10\\.64\\.0\\.1:1337: route 10\\.64\\.0\\.1/32 dev ${client.outer.iface} .*advmss 496 mtu lock 536`));
    assert.equal(await routeOf(m.bed, client.namespace, '10.64.0.1/32'), routeBefore, 'the route to 10.64.0.1 is back as it was');
    await assertPing(m.bed, client.namespace, exit.gateway);
    ctx.diagnostic(`timings ${JSON.stringify(json.hops.map((h) => [h.role, h.timings]))} total ${json.totalMs} ms`);
  });
});
