/**
 * End-to-end: the test beds against real wireguard-go in network namespaces. All traffic
 * starts inside a namespace this file created; the root namespace only runs `ip`/`wg`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import {
  Bed,
  UAPI_DIR,
  buildMultihop,
  buildSingleHop,
  liveBedCount,
  uapiSocket,
} from '../../src/testbed/index.js';
import { publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { BedWgControl } from '../../src/testbed/wg-dump.js';
import { e2eSkip, requireBed } from './gate.js';
import { assertNothingLeft, traces } from './helpers.js';

const skip = e2eSkip();

describe('e2e against real wireguard-go in network namespaces', { skip }, () => {
  test('real wireguard-go: single hop — client pings relay gateway 10.64.0.1 through the tunnel; state read via WgControl; nothing left after teardown', async (t) => {
    requireBed();
    const { bed, topology, buildMs } = await buildSingleHop();
    const { client, relay, suffix } = topology;
    let teardownMs = -1;
    try {
      // Names carry the run suffix and fit Linux's 15-character limit.
      for (const name of [client.iface, relay.iface]) assert.ok(name.includes(suffix) && name.length <= 15);
      assert.equal((await traces(suffix)).filter((l) => l.startsWith('netns')).length, 2);
      assert.ok(existsSync(uapiSocket(client.iface)) && existsSync(uapiSocket(relay.iface)));
      assert.equal(relay.gateway, '10.64.0.1');
      assert.equal(client.address, '10.64.0.2');

      const before = await bed.wg(relay.namespace).show(relay.iface);
      assert.equal(before.peers[0]!.latestHandshake, 0);

      const ping = await bed.ping(client.namespace, relay.gateway);
      assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
      assert.match(ping.stdout, /3 packets transmitted, 3 received/);

      const rs = await bed.wg(relay.namespace).show(relay.iface);
      assert.equal(rs.publicKey, relay.publicKey);
      assert.equal(rs.listenPort, 51820);
      assert.equal(rs.peers.length, 1);
      const peer = rs.peers[0]!;
      assert.equal(peer.publicKey, client.publicKey);
      assert.deepEqual(peer.allowedIps, ['10.64.0.2/32']);
      assert.match(peer.endpoint ?? '', /^198\.51\.100\.2:\d+$/);
      assert.ok(peer.latestHandshake > 0 && peer.rxBytes > 0 && peer.txBytes > 0);
      assert.equal(peer.hasPresharedKey, false);
      const hs = await bed.wg(client.namespace).latestHandshakes(client.iface);
      assert.ok((hs.get(relay.publicKey) ?? 0) > 0);

      // The private key read back matches the public key the topology reports; then wiped.
      const key = await bed.wg(relay.namespace).readPrivateKey(relay.iface);
      assert.equal(publicKeyToText(publicKeyOf(key)), relay.publicKey);
      key.fill(0);

      // UAPI sockets are shared across namespaces: the root namespace's wg sees the relay too.
      assert.equal((await new BedWgControl().show(relay.iface)).publicKey, relay.publicKey);
    } finally {
      const report = await bed.teardown();
      teardownMs = report.durationMs;
      assert.deepEqual(report.leftovers, []);
    }
    await assertNothingLeft(suffix);
    assert.deepEqual(await bed.teardown(), await bed.teardown(), 'teardown is idempotent');
    assert.equal(liveBedCount(), 0);
    t.diagnostic(`single hop: build ${buildMs} ms, teardown ${teardownMs} ms`);
  });

  test('real wireguard-go: nested multihop — ping to exit gateway 10.65.0.1 travels inside both tunnels (transfer counters)', async (t) => {
    requireBed();
    const { bed, topology, buildMs } = await buildMultihop();
    const { client, entry, exit, suffix } = topology;
    let teardownMs = -1;
    try {
      const c = bed.wg(client.namespace);
      // The client has no route to the exit's underlay except through the outer tunnel.
      const route = await bed.runIn(client.namespace, ['ip', 'route', 'get', exit.underlayAddress]);
      assert.match(route.stdout, new RegExp(`dev ${client.outer.iface} src 10\\.64\\.0\\.2`));

      const warm = await bed.ping(client.namespace, exit.gateway, { count: 1 });
      assert.equal(warm.exitCode, 0, warm.stdout + warm.stderr);
      const counters = async (iface: string): Promise<{ rx: number; tx: number }> => {
        const p = (await c.show(iface)).peers[0]!;
        return { rx: p.rxBytes, tx: p.txBytes };
      };
      const [outer0, inner0] = [await counters(client.outer.iface), await counters(client.inner.iface)];
      const n = 5;
      const size = 1000;
      const ping = await bed.ping(client.namespace, exit.gateway, { count: n, size });
      assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
      assert.match(ping.stdout, new RegExp(`${n} packets transmitted, ${n} received`));
      const [outer1, inner1] = [await counters(client.outer.iface), await counters(client.inner.iface)];
      const inner = { tx: inner1.tx - inner0.tx, rx: inner1.rx - inner0.rx };
      const outer = { tx: outer1.tx - outer0.tx, rx: outer1.rx - outer0.rx };
      // Each echo is ≥ size + 28 bytes inside the inner tunnel; each inner packet then costs
      // ≥ 28 more bytes (its IPv4 + UDP header) inside the outer tunnel.
      assert.ok(inner.tx >= n * (size + 28) && inner.rx >= n * (size + 28), `inner ${JSON.stringify(inner)}`);
      assert.ok(outer.tx >= inner.tx + n * 28 && outer.rx >= inner.rx + n * 28, `outer ${JSON.stringify(outer)} inner ${JSON.stringify(inner)}`);
      t.diagnostic(`multihop counters for ${n} x ${size}-byte pings: inner tx/rx ${inner.tx}/${inner.rx}, outer tx/rx ${outer.tx}/${outer.rx}`);

      // The exit saw the client come from its outer-tunnel address, i.e. via the entry.
      const xs = await bed.wg(exit.namespace).show(exit.iface);
      assert.match(xs.peers[0]!.endpoint ?? '', /^10\.64\.0\.2:\d+$/);
      assert.equal(xs.peers[0]!.publicKey, client.inner.publicKey);
      const es = await bed.wg(entry.namespace).show(entry.iface);
      assert.equal(es.peers[0]!.publicKey, client.outer.publicKey);
      assert.ok(es.peers[0]!.rxBytes >= inner.tx, 'entry received the inner traffic');
      assert.equal(client.inner.mtu, 1340);
    } finally {
      const report = await bed.teardown();
      teardownMs = report.durationMs;
      assert.deepEqual(report.leftovers, []);
    }
    await assertNothingLeft(suffix);
    t.diagnostic(`multihop: build ${buildMs} ms, teardown ${teardownMs} ms`);
  });

  test('real wireguard-go: PSKs set through the secret channel — equal on both ends handshake, unequal do not', async () => {
    requireBed();
    const psk = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const other = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
    for (const [clientPsk, works] of [[psk, true], [other, false]] as const) {
      const { bed, topology } = await buildSingleHop();
      const { client, relay } = topology;
      try {
        await bed.wg(relay.namespace).set(relay.iface, { peers: [{ publicKey: client.publicKey, presharedKey: psk }] });
        await bed.wg(client.namespace).set(client.iface, { peers: [{ publicKey: relay.publicKey, presharedKey: clientPsk }] });
        assert.equal((await bed.wg(relay.namespace).show(relay.iface)).peers[0]!.hasPresharedKey, true);
        const ping = await bed.ping(client.namespace, relay.gateway, { count: works ? 3 : 2, waitSeconds: 1 });
        assert.equal(ping.exitCode === 0, works, ping.stdout);
        if (works) {
          // Clearing with /dev/null reads back as no PSK.
          await bed.wg(client.namespace).set(client.iface, { peers: [{ publicKey: relay.publicKey, presharedKey: null }] });
          assert.equal((await bed.wg(client.namespace).show(client.iface)).peers[0]!.hasPresharedKey, false);
        }
      } finally {
        assert.deepEqual((await bed.teardown()).leftovers, []);
      }
    }
  });

  test('real wireguard-go: relay and client MTU options (1280) are applied and enforced', async () => {
    requireBed();
    const { bed, topology } = await buildSingleHop({ mtu: { client: 1280, relay: 1280 } });
    const { client, relay } = topology;
    try {
      const link = await bed.runIn(relay.namespace, ['ip', 'link', 'show', 'dev', relay.iface]);
      assert.match(link.stdout, /mtu 1280 /);
      const fits = await bed.ping(client.namespace, relay.gateway, { count: 1, size: 1280 - 28, dontFragment: true });
      assert.equal(fits.exitCode, 0, fits.stdout + fits.stderr);
      const tooBig = await bed.ping(client.namespace, relay.gateway, { count: 1, size: 1280 - 27, dontFragment: true, waitSeconds: 1 });
      assert.notEqual(tooBig.exitCode, 0);
      await bed.setMtu(client.namespace, client.iface, 1300);
      assert.match((await bed.runIn(client.namespace, ['ip', 'link', 'show', 'dev', client.iface])).stdout, /mtu 1300 /);
    } finally {
      assert.deepEqual((await bed.teardown()).leftovers, []);
    }
  });

  test('real wireguard-go: runIn/spawnIn act inside a namespace; /sys is per namespace, /var/run/wireguard is shared', async () => {
    requireBed();
    const { bed, topology } = await buildSingleHop();
    const { client, relay } = topology;
    let pinger;
    try {
      const addr = await bed.runIn(relay.namespace, ['ip', '-4', '-o', 'addr', 'show', 'dev', relay.iface]);
      assert.equal(addr.exitCode, 0);
      assert.match(addr.stdout, /inet 10\.64\.0\.1\/16/);
      const failed = await bed.runIn(relay.namespace, ['ip', 'link', 'show', 'dev', 'no-such-link']);
      assert.notEqual(failed.exitCode, 0);
      assert.match(failed.stderr, /does not exist/);
      // /sys inside the namespace shows its own links; the root namespace's does not.
      const mtu = await bed.runIn(relay.namespace, ['cat', `/sys/class/net/${relay.iface}/mtu`]);
      assert.equal(mtu.stdout.trim(), '1420');
      assert.equal(existsSync(`/sys/class/net/${relay.iface}`), false);
      // /var/run/wireguard is the same directory inside and outside.
      const inside = await bed.runIn(client.namespace, ['ls', UAPI_DIR]);
      const outside = readdirSync(UAPI_DIR);
      for (const s of [`${client.iface}.sock`, `${relay.iface}.sock`]) {
        assert.ok(inside.stdout.split('\n').includes(s) && outside.includes(s));
      }
      // A long-running process inside the client namespace, left for teardown to stop.
      pinger = bed.spawnIn(client.namespace, ['ping', '-n', '-i', '0.2', relay.gateway]);
      await pinger.waitForOutput(/bytes from 10\.64\.0\.1/);
      assert.equal(pinger.running, true);
    } finally {
      assert.deepEqual((await bed.teardown()).leftovers, []);
    }
    const exit = await pinger.exited;
    assert.equal(exit.signal, 'SIGTERM');
    assert.throws(() => bed.spawnIn(client.namespace, ['true']), /used after teardown/);
  });

  test('real wireguard-go: two beds side by side are isolated; a clashing suffix fails without touching the other bed', async () => {
    requireBed();
    const [one, two] = await Promise.all([buildSingleHop(), buildSingleHop()]);
    try {
      const pings = await Promise.all([one, two].map(({ bed, topology }) => bed.ping(topology.client.namespace, topology.relay.gateway, { count: 2 })));
      for (const p of pings) assert.equal(p.exitCode, 0, p.stdout);
      // Same addresses, different namespaces: each relay knows only its own client.
      const peerOf = async ({ bed, topology }: typeof one): Promise<string> =>
        (await bed.wg(topology.relay.namespace).show(topology.relay.iface)).peers[0]!.publicKey;
      assert.equal(await peerOf(one), one.topology.client.publicKey);
      assert.equal(await peerOf(two), two.topology.client.publicKey);

      await assert.rejects(buildSingleHop({ suffix: one.topology.suffix }), (e: unknown) => isPqpskError(e, 'SETUP') && /ip netns add pqpsk-\w+-(client|relay)/.test(e.message));
      const still = await one.bed.ping(one.topology.client.namespace, one.topology.relay.gateway, { count: 1 });
      assert.equal(still.exitCode, 0, 'the failed build tore down only what it had created');
    } finally {
      for (const { bed } of [one, two]) assert.deepEqual((await bed.teardown()).leftovers, []);
    }
    await assertNothingLeft(one.topology.suffix);
    await assertNothingLeft(two.topology.suffix);
  });

  test('real wireguard-go: real wg errors — missing interface is NOT_FOUND, the secret channel does not hang', async () => {
    requireBed();
    const bed = new Bed();
    try {
      const ns = await bed.addNamespace('solo');
      const wg = bed.wg(ns);
      const name = `pqno${bed.suffix}`;
      await assert.rejects(wg.show(name), (e: unknown) => isPqpskError(e, 'NOT_FOUND') && e.message.startsWith(`no such WireGuard interface ${name} (command: ip netns exec ${ns} wg show ${name} dump, exit code 1)`));
      await assert.rejects(
        wg.set(name, { privateKey: new Uint8Array(32).fill(7), peers: [{ publicKey: 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=', presharedKey: new Uint8Array(32).fill(9) }] }),
        (e: unknown) => isPqpskError(e, 'NOT_FOUND') && e.message.includes('private-key <secret channel>'),
      );
      await assert.rejects(new BedWgControl({ netns: `pqpsk-${bed.suffix}-nosuchns` }).show(name), (e: unknown) => isPqpskError(e, 'NOT_FOUND'));
    } finally {
      assert.deepEqual((await bed.teardown()).leftovers, []);
    }
  });
});

