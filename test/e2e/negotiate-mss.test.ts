/**
 * End-to-end: the MSS guard on paths that silently drop big packets, one direction at a
 * time. One side's underlay link gets MTU 1000 while both WireGuard interfaces keep 1420:
 * full-size segments (MSS 1380 → ~1460-byte UDP) sent toward that side vanish with no
 * ICMP — a path-MTU black hole in front of a tunnel whose inner path is smaller than it
 * believes — while the other direction still passes (the sender's kernel fragments).
 *
 * - Black hole in front of the client: the ~16 KB answer never arrives without the guard;
 *   `advmss 496` makes the relay send small segments.
 * - Black hole in front of the relay: the ~9 KB request never arrives without the guard;
 *   `mtu lock 536` on the route keeps the client's own segments at 496 bytes (advmss alone
 *   does not: it only shrinks what the relay sends).
 *
 * Traffic starts only inside this file's namespaces.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildSingleHop, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

async function blackHoleInFrontOf(side: 'client' | 'relay', ctx: TestContext): Promise<void> {
  requireBed();
  const stateDir = await mkdtemp(join(tmpdir(), `pqpsk-e2e-mss-${side}-`));
  const { bed, topology: t } = await buildSingleHop();
  try {
    const ns = side === 'client' ? t.client.namespace : t.relay.namespace;
    const links = JSON.parse((await bed.ip(ns, '-j', 'link', 'show')).stdout) as { ifname: string; link_type: string }[];
    const underlay = links.find((l) => l.link_type === 'ether');
    assert.ok(underlay, `the ${side} namespace has its veth`);
    await bed.setMtu(ns, underlay.ifname, 1000);
    await startRelayServer(bed, t.relay, stateDir);
    const big = await bed.ping(t.client.namespace, t.relay.gateway, { size: 1300, count: 2, waitSeconds: 1 });
    assert.notEqual(big.exitCode, 0, 'control: 1300-byte packets through the tunnel are lost');

    const args = ['--interface', t.client.iface, '--max-attempts', '1', '--timeout-scale', '0.25'];
    const without = await runNegotiate(bed, t.client.namespace, [...args, '--no-mss-clamp']);
    assert.equal(without.exitCode, 1, without.stderr);
    assert.match(without.stderr, /accepted the connection but gave no answer within 2000 ms/);

    const withClamp = await runNegotiate(bed, t.client.namespace, [...args, '--json']);
    assert.equal(withClamp.exitCode, 0, withClamp.stderr);
    const hop = parseNegotiateJson(withClamp.stdout).hops[0]!;
    const clientFp = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
    assert.equal(clientFp, await peerPskFingerprint(t.relay.namespace, t.relay.iface, hop.ephemeralPublicKey));
    ctx.diagnostic(`black hole in front of the ${side}: with the clamp rpc ${hop.timings.rpcMs} ms; without: timed out after 2000 ms`);
  } finally {
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
}

test('MSS guard, relay→client: with a black hole in front of the client the answer arrives only with the clamp', { skip: e2eSkip() }, (ctx) =>
  blackHoleInFrontOf('client', ctx),
);

test('MSS guard, client→relay: with a black hole in front of the relay the request arrives only with the clamp', { skip: e2eSkip() }, (ctx) =>
  blackHoleInFrontOf('relay', ctx),
);
