/**
 * End-to-end: the MSS guard on a path that silently drops big packets. The client's
 * underlay link gets MTU 1000 while both WireGuard interfaces keep 1420, so the relay's
 * full-size segments (MSS 1380 → ~1440-byte UDP) vanish on the way in with no ICMP — a
 * path-MTU black hole in front of a tunnel whose inner path is smaller than it believes.
 * The ~16 KB answer then never arrives without the guard, and arrives with it (MSS 496 →
 * ~600-byte UDP). Traffic starts only inside this file's namespaces.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSingleHop, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

test('MSS guard: with a black hole for big packets the answer arrives only with the clamp', { skip: e2eSkip() }, async (ctx) => {
  requireBed();
  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-mss-'));
  const { bed, topology: t } = await buildSingleHop();
  try {
    const links = JSON.parse((await bed.ip(t.client.namespace, '-j', 'link', 'show')).stdout) as { ifname: string; link_type: string }[];
    const underlay = links.find((l) => l.link_type === 'ether');
    assert.ok(underlay, 'the client namespace has its veth');
    await bed.setMtu(t.client.namespace, underlay.ifname, 1000);
    await startRelayServer(bed, t.relay, stateDir);
    const big = await bed.ping(t.client.namespace, t.relay.gateway, { size: 1300, count: 2, waitSeconds: 1 });
    assert.notEqual(big.exitCode, 0, 'control: 1300-byte packets through the tunnel are lost');

    const args = ['--interface', t.client.iface, '--max-attempts', '1', '--timeout-scale', '0.25'];
    const without = await runNegotiate(bed, t.client.namespace, [...args, '--no-mss-clamp']);
    assert.equal(without.exitCode, 1, without.stderr);
    assert.match(without.stderr, /attempt timed out after 2000 ms/);

    const withClamp = await runNegotiate(bed, t.client.namespace, [...args, '--json']);
    assert.equal(withClamp.exitCode, 0, withClamp.stderr);
    const hop = parseNegotiateJson(withClamp.stdout).hops[0]!;
    const clientFp = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
    assert.equal(clientFp, await peerPskFingerprint(t.relay.namespace, t.relay.iface, hop.ephemeralPublicKey));
    ctx.diagnostic(`with the clamp: rpc ${hop.timings.rpcMs} ms; without: timed out after 2000 ms`);
  } finally {
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
});
