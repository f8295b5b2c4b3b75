/**
 * End-to-end, on the real bed (wireguard-go in per-run namespaces), the ways an operator
 * stops things: `pqpsk server` stopped with SIGTERM, `pqpsk server --release` after a
 * crash, a server-side `wg-quick down/up` under a running relay — each followed by a
 * one-shot client on its parent key that must have traffic — and wg-quick files with
 * `SaveConfig = true` on both ends. All traffic starts inside namespaces this file made;
 * keys reach it only through memory and throwaway files in a private directory.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readParentKey } from '../../src/client/config-file.js';
import {
  BED_RELAY_USER,
  PQPSK_ARGV,
  parseNegotiateJson,
  runNegotiate,
  startRelayServer,
  type Bed,
  type BedProcess,
  type SingleHop,
} from '../../src/testbed/index.js';
import { encodeKeyBase64 } from '../../src/wg/keys.js';
import { e2eSkip, requireBed } from './gate.js';
import { currentKey, privateSingleHopWithParent } from './helpers.js';

const skip = e2eSkip();

describe('stopping the relay, releasing it, re-upping its interface, and SaveConfig, on the real bed', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let configFile: string;
  let server: BedProcess | undefined;
  /** The relay's own wg-quick file, when a test brought its interface up with wg-quick. */
  let relayConf: string | undefined;

  before(async () => {
    requireBed();
    ({ bed, topology: t, dir, configFile } = await privateSingleHopWithParent('pqpsk-e2e-stop-'));
  });
  after(async () => {
    await server?.stop('SIGKILL');
    if (relayConf !== undefined) await bed?.runIn(t.relay.namespace, ['wg-quick', 'down', relayConf]).catch(() => undefined);
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const args = (): string[] => ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--config-file', configFile];

  /** What the relay's interface routes to whom: public key → allowed-ips. */
  async function relayPeers(): Promise<Record<string, string[]>> {
    const state = await bed.wg(t.relay.namespace).show(t.relay.iface);
    return Object.fromEntries(state.peers.map((p) => [p.publicKey, [...p.allowedIps]]));
  }

  /** What the client's interface looks like: its key and each peer's addresses and PSK flag. */
  async function clientState(): Promise<string> {
    const state = await bed.wg(t.client.namespace).show(t.client.iface);
    return JSON.stringify({ key: state.publicKey, peers: state.peers.map((p) => [p.publicKey, p.allowedIps, p.hasPresharedKey, p.endpoint]) });
  }

  async function assertPing(what: string): Promise<void> {
    const ping = await bed.ping(t.client.namespace, t.relay.gateway);
    assert.equal(ping.exitCode, 0, `${what}: ping ${t.relay.gateway}: ${ping.stdout}${ping.stderr}`);
  }

  /** A one-shot negotiate that switches: the client on an ephemeral key, the relay's parent at none. */
  async function switchToEphemeral(): Promise<string> {
    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--json']);
    assert.equal(run.exitCode, 0, run.stderr);
    const ephemeral = parseNegotiateJson(run.stdout).hops[0]!.ephemeralPublicKey;
    assert.deepEqual(await relayPeers(), { [t.client.publicKey]: [], [ephemeral]: ['10.64.0.2/32'] }, 'the parent is at none while the ephemeral holds its address');
    return ephemeral;
  }

  /** The client back on its parent key with no PSK, as `wg-quick down && wg-quick up` puts it. */
  async function reUpClient(): Promise<void> {
    const key = await readParentKey(configFile);
    try {
      await bed.wg(t.client.namespace).set(t.client.iface, { privateKey: key, peers: [{ publicKey: t.relay.publicKey, presharedKey: null }] });
    } finally {
      key.fill(0);
    }
  }

  test('client: a wg-quick file with SaveConfig = true is refused with exit 2, saying why and what to do; the interface is unchanged', async () => {
    const saving = join(dir, 'saving.conf');
    await writeFile(saving, `${await readFile(configFile, 'latin1')}Address = 10.64.0.2/32\nSaveConfig = true\n`, { mode: 0o600 });
    const before = await clientState();
    const run = await runNegotiate(bed, t.client.namespace, ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--config-file', saving]);
    assert.equal(run.exitCode, 2, run.stderr);
    assert.equal(
      run.stderr,
      `pqpsk negotiate: ${saving} line 4: SaveConfig = true: on \`wg-quick down\` wg-quick would write the ephemeral private key and its PresharedKey into this file in place of the parent key, and the next \`wg-quick up\` would come up on a key the relay has forgotten; set SaveConfig = false (or remove the line), then run pqpsk again`,
    );
    assert.equal(await clientState(), before, 'same key, same peers, no PSK');
  });

  test('relay: warns at start about SaveConfig = true; SIGTERM gives the parent its address back; a one-shot client re-run goes back to its parent key and has traffic', async () => {
    const relaySaving = join(dir, 'relay.conf');
    await writeFile(relaySaving, '[Interface]\nListenPort = 51820\nSaveConfig = true\n', { mode: 0o600 });
    server = await startRelayServer(bed, t.relay, dir, ['--config-file', relaySaving]);
    const warning = await server.waitForOutput(/^.*"event":"save-config".*$/m, 10_000);
    const line = JSON.parse(warning[0]) as { level: string; hint: string };
    assert.equal(line.level, 'warn');
    assert.equal(
      line.hint,
      `${relaySaving} line 3: SaveConfig = true: on \`wg-quick down\` wg-quick would write every ephemeral peer and its PresharedKey into this file, and bring them back as permanent peers; set SaveConfig = false (or remove the line)`,
    );

    await switchToEphemeral();
    const exit = await server.stop('SIGTERM', 20_000);
    assert.deepEqual(exit, { exitCode: 0, signal: null }, server.output().stderr);
    assert.match(server.output().stdout, /"event":"given-back".*"parents":1,"ephemerals_removed":1/);
    server = undefined;
    assert.deepEqual(await relayPeers(), { [t.client.publicKey]: ['10.64.0.2/32'] }, 'the parent holds its address; no ephemeral is left');

    // The client is still on the ephemeral key the relay removed: its re-run cannot reach a
    // relay, gives up, and goes back to the parent key, which works.
    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--max-attempts', '1', '--timeout-scale', '0.25', '--verify-timeout', '3s']);
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr.trim().split('\n').pop() ?? '', new RegExp(`^pqpsk negotiate: gave up after 1 attempt: .*; ${t.client.iface} back on its parent key, which works \\(its ephemeral key got no answer\\)$`));
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), t.client.publicKey, 'on the parent key');
    await assertPing('after the relay stopped, on the parent key');
  });

  test('pqpsk server --release after a crash: the parent gets its address back, the ephemeral goes, a client on its parent key has traffic', async () => {
    server = await startRelayServer(bed, t.relay, dir);
    const ephemeral = await switchToEphemeral();
    await server.stop('SIGKILL');
    server = undefined;
    assert.deepEqual((await relayPeers())[ephemeral], ['10.64.0.2/32'], 'the crash left the parent stranded');

    const release = await bed.runIn(t.relay.namespace, [...PQPSK_ARGV, 'server', '--interface', t.relay.iface, '--user', BED_RELAY_USER, '--state-dir', join(dir, t.relay.iface), '--release'], { timeoutMs: 60_000 });
    assert.equal(release.exitCode, 0, release.stderr);
    assert.equal(release.stderr, '');
    assert.match(release.stdout, /"event":"given-back".*"parents":1,"ephemerals_removed":1/);
    assert.doesNotMatch(release.stdout, /"event":"listening"/, 'nothing served');
    assert.deepEqual(await relayPeers(), { [t.client.publicKey]: ['10.64.0.2/32'] });
    const book = JSON.parse(await readFile(join(dir, t.relay.iface, `${t.relay.iface}.book.json`), 'utf8')) as { parents: unknown[]; ephemerals: unknown[] };
    assert.deepEqual([book.parents, book.ephemerals], [[], []], 'the book is empty');

    await reUpClient();
    await assertPing('after --release, on the parent key');
  });

  test('a server-side wg-quick down/up under a running relay: a one-shot client re-run goes back to its parent key and has traffic, and the next run switches', async () => {
    // The relay's interface as its operator's wg-quick file describes it.
    relayConf = join(dir, `${t.relay.iface}.conf`);
    const key = await bed.wg(t.relay.namespace).readPrivateKey(t.relay.iface);
    const text = encodeKeyBase64('test relay key', key);
    key.fill(0);
    const body = [
      '[Interface]',
      `PrivateKey = ${Buffer.from(text).toString('latin1')}`,
      `ListenPort = ${t.relay.listenPort}`,
      'Address = 10.64.0.1/16',
      `MTU = ${t.relay.mtu}`,
      '',
      '[Peer]',
      `PublicKey = ${t.client.publicKey}`,
      'AllowedIPs = 10.64.0.2/32',
      '',
    ].join('\n');
    text.fill(0);
    await writeFile(relayConf, body, { mode: 0o600 });

    server = await startRelayServer(bed, t.relay, dir);
    const ephemeral = await switchToEphemeral();
    for (const step of ['down', 'up']) {
      const r = await bed.runIn(t.relay.namespace, ['wg-quick', step, relayConf], { timeoutMs: 60_000 });
      assert.equal(r.exitCode, 0, `wg-quick ${step}: ${r.stderr}`);
    }
    assert.equal((await relayPeers())[ephemeral], undefined, 'the re-up forgot the ephemeral peer');

    const run = await runNegotiate(bed, t.client.namespace, [...args(), '--max-attempts', '1', '--timeout-scale', '0.25', '--verify-timeout', '3s']);
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr.trim().split('\n').pop() ?? '', new RegExp(`^pqpsk negotiate: gave up after 1 attempt: .*; ${t.client.iface} back on its parent key, which works \\(its ephemeral key got no answer\\)$`));
    assert.equal(await currentKey(bed, t.client.namespace, t.client.iface), t.client.publicKey);
    await assertPing('after the server-side re-up, on the parent key');

    // The relay kept serving through the re-up: the next run switches again.
    await switchToEphemeral();
    await assertPing('on the new ephemeral key');
  });
});
