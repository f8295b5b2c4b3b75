/**
 * End-to-end: `pqpsk server` inside the relay namespace of a real single-hop bed
 * (wireguard-go), a test client inside the client namespace negotiating through the
 * tunnel. All traffic starts inside a namespace this file created; the root namespace
 * runs `ip`/`wg` only. Secrets reach this test only through memory (the client's fd 3
 * pipe, `wg show … preshared-keys` read into bytes) and are wiped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { pskFingerprint } from '../../src/kem/psk.js';
import { BED_RELAY_USER, buildSingleHop, type BedProcess, type SingleHop } from '../../src/testbed/index.js';
import { readPresharedKey } from '../../src/testbed/psk-read.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { runTestClient, type ClientSecrets } from '../server/run-client.js';
import { e2eSkip, requireBed } from './gate.js';
import { assertNothingLeft } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SERVICE = '10.64.0.1:1337';
const skip = e2eSkip();

function startServer(hop: SingleHop, stateDir: string): BedProcess {
  const { bed, topology } = hop;
  return bed.spawnIn(topology.relay.namespace, [process.execPath, MAIN, 'server', '--interface', topology.relay.iface, '--user', BED_RELAY_USER, '--state-dir', stateDir]);
}

async function relayPeers(hop: SingleHop): Promise<Record<string, string[]>> {
  const state = await hop.bed.wg(hop.topology.relay.namespace).show(hop.topology.relay.iface);
  return Object.fromEntries(state.peers.map((p) => [p.publicKey, [...p.allowedIps]]));
}

/** Bounded wait for a state the relay reaches by itself (the watcher); not a timing assertion. */
async function eventually(what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('e2e: pqpsk server on real wireguard-go', { skip }, () => {
  test('register through the tunnel, switch, renegotiate from the ephemeral, switch back, impostor refused, kill -9 and restart, SIGTERM', async (t) => {
    requireBed();
    const hop = await buildSingleHop();
    const { bed, topology } = hop;
    const { client, relay } = topology;
    const stateDir = mkdtempSync(join(tmpdir(), 'pqpsk-e2e-state-'));
    const bookFile = join(stateDir, `${relay.iface}.book.json`);
    const clientWg = bed.wg(client.namespace);
    const secrets: ClientSecrets[] = [];
    const parentKey = await clientWg.readPrivateKey(client.iface);
    const P = client.publicKey;
    const P_IPS = ['10.64.0.2/32'];
    const switchTo = (s: ClientSecrets | null): Promise<void> =>
      clientWg.set(client.iface, {
        privateKey: s === null ? parentKey : s.privateKey,
        peers: [{ publicKey: relay.publicKey, presharedKey: s === null ? null : s.psk }],
      });
    const pingWithin = (seconds: number) =>
      bed.runIn(client.namespace, ['ping', '-n', '-q', '-c', '1', '-i', '0.2', '-w', String(seconds), relay.gateway], { timeoutMs: 30_000 });
    const register = async (parent: string): Promise<{ key: string; secret: ClientSecrets }> => {
      const r = await runTestClient(client.namespace, SERVICE, parent);
      assert.ok(r.outcome.ok, `registration failed: ${JSON.stringify(r.outcome)} ${r.stderr}`);
      assert.ok(r.secrets !== null);
      secrets.push(r.secrets);
      // The relay holds the PSK the client derived (compared in memory, never printed).
      const relayPsk = await readPresharedKey(relay.iface, r.outcome.ephemeralPublicKey, { netns: relay.namespace });
      try {
        assert.ok(relayPsk !== null, 'the relay set a PSK on the ephemeral peer');
        assert.ok(Buffer.from(relayPsk).equals(Buffer.from(r.secrets.psk)), 'same PSK on both sides');
        assert.equal(pskFingerprint(relayPsk), r.outcome.pskFingerprint);
      } finally {
        relayPsk?.fill(0);
      }
      return { key: r.outcome.ephemeralPublicKey, secret: r.secrets };
    };

    let server = startServer(hop, stateDir);
    const logs: string[] = [];
    try {
      await server.waitForOutput(/"event":"listening".*"address":"10\.64\.0\.1:1337"/, 20_000);

      // 1. Register from the parent through the tunnel: a pending ephemeral with the client's PSK.
      const e1 = await register(P);
      let peers = await relayPeers(hop);
      assert.deepEqual(peers[e1.key], [], 'pending: no allowed-ips');
      assert.deepEqual(peers[P], P_IPS);

      // 2. Switch the client to the ephemeral key + PSK: traffic within 1 s; the relay moved the addresses.
      let switchedAt = Date.now();
      await switchTo(e1.secret);
      const ping1 = await pingWithin(1);
      const resumed1 = Date.now() - switchedAt;
      assert.equal(ping1.exitCode, 0, `ping after the switch: ${ping1.stdout}`);
      await eventually('allowed-ips on E1', async () => (await relayPeers(hop))[e1.key]?.join() === P_IPS.join());
      assert.deepEqual((await relayPeers(hop))[P], []);

      // 3. Negotiate again from the ephemeral key: E1 stays until the client switches to E2.
      const e2 = await register(e1.key);
      peers = await relayPeers(hop);
      assert.deepEqual(peers[e1.key], P_IPS, 'E1 is live and survives the new registration');
      assert.deepEqual(peers[e2.key], []);
      assert.equal((await pingWithin(2)).exitCode, 0, 'still served through E1');
      switchedAt = Date.now();
      await switchTo(e2.secret);
      const ping2 = await pingWithin(1);
      const resumed2 = Date.now() - switchedAt;
      assert.equal(ping2.exitCode, 0, `ping after the second switch: ${ping2.stdout}`);
      await eventually('E1 gone, E2 holds the addresses', async () => {
        const now = await relayPeers(hop);
        return now[e1.key] === undefined && now[e2.key]?.join() === P_IPS.join();
      });

      // 4. Back to the parent key: the addresses move back, E2 goes, ping works.
      switchedAt = Date.now();
      await switchTo(null);
      const ping3 = await pingWithin(5);
      const resumed3 = Date.now() - switchedAt;
      assert.equal(ping3.exitCode, 0, `ping after switching back: ${ping3.stdout}`);
      await eventually('P holds its addresses again and E2 is gone', async () => {
        const now = await relayPeers(hop);
        return now[P]?.join() === P_IPS.join() && now[e2.key] === undefined;
      });

      // 5. A peer claiming another peer's key → PERMISSION_DENIED, nothing changes.
      const otherKey = generatePrivateKey();
      const Q = publicKeyToText(publicKeyOf(otherKey));
      otherKey.fill(0);
      await bed.wg(relay.namespace).set(relay.iface, { peers: [{ publicKey: Q, allowedIps: ['10.64.0.3/32'] }] });
      const before = await relayPeers(hop);
      const impostor = await runTestClient(client.namespace, SERVICE, Q, 'ML-KEM-1024');
      assert.equal(impostor.outcome.ok, false);
      assert.equal(!impostor.outcome.ok && impostor.outcome.code, 'PERMISSION_DENIED');
      assert.deepEqual(await relayPeers(hop), before);

      // 6. kill -9 right after a registration, start again: the pending ephemeral is reconciled away.
      const e3 = await register(P);
      assert.ok((await relayPeers(hop))[e3.key] !== undefined);
      assert.ok(readFileSync(bookFile, 'utf8').includes(e3.key), 'recorded before wg set');
      await server.stop('SIGKILL');
      logs.push(server.output().stdout);
      server = startServer(hop, stateDir);
      await server.waitForOutput(/"event":"listening"/, 20_000);
      peers = await relayPeers(hop);
      assert.deepEqual(peers, { [P]: P_IPS, [Q]: ['10.64.0.3/32'] }, 'no orphan, every address on its owner');
      const book = JSON.parse(readFileSync(bookFile, 'utf8')) as { ephemerals: unknown[] };
      assert.deepEqual(book.ephemerals, []);
      assert.equal(statSync(bookFile).mode & 0o777, 0o600);
      assert.equal((await pingWithin(2)).exitCode, 0, 'the parent tunnel still works');

      // 7. SIGTERM: a clean exit 0 that leaves the interface as the book says.
      const exit = await server.stop('SIGTERM', 15_000);
      assert.deepEqual(exit, { exitCode: 0, signal: null }, `the relay's last output:\n${server.output().stdout.slice(-4000)}${server.output().stderr.slice(-2000)}`);
      logs.push(server.output().stdout);
      assert.match(server.output().stdout, /"event":"stopped"/);
      assert.deepEqual(await relayPeers(hop), { [P]: P_IPS, [Q]: ['10.64.0.3/32'] });

      // No secret in anything the server printed or stored.
      const printed = logs.join('\n') + server.output().stderr + readFileSync(bookFile, 'utf8');
      for (const s of secrets) {
        for (const secret of [s.psk, s.privateKey]) {
          for (const form of [Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) {
            assert.ok(!printed.includes(form), 'no secret in the server output or book');
          }
        }
      }
      const registrations = logs.join('\n').split('\n').filter((l) => l.includes('"event":"registration"'));
      assert.equal(registrations.filter((l) => l.includes('"result":"ok"')).length, 3);
      assert.equal(registrations.filter((l) => l.includes('"result":"permission_denied"')).length, 1);
      const encaps = registrations.map((l) => (JSON.parse(l) as { encaps_ms?: Record<string, number> }).encaps_ms).filter((e) => e !== undefined);
      t.diagnostic(`server encapsulation ms per registration: ${JSON.stringify(encaps)}`);
      t.diagnostic(`switch → first ping reply (incl. wg set + ping start-up): E1 ${resumed1} ms, E2 ${resumed2} ms, back to parent ${resumed3} ms`);
    } finally {
      parentKey.fill(0);
      for (const s of secrets) s.wipe();
      await server.stop('SIGKILL');
      const report = await bed.teardown();
      rmSync(stateDir, { recursive: true, force: true });
      assert.deepEqual(report.leftovers, []);
    }
    await assertNothingLeft(topology.suffix);
  });
});
