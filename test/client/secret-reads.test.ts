/**
 * Which `wg show` forms the client runs. Every read and write the client makes goes
 * through the real WgControl to the fake `wg` executable (test/fixtures/fake-wg/wg), which
 * logs its argv and answers from a state file copied from the in-memory fake before each
 * call; the in-memory fake also drives the simulated tunnel. Proves, for a one-shot run, a
 * re-run that rolls back, a watcher that rotates and `status`: never `dump` nor
 * `preshared-keys` (both print PSKs, `dump` the private key too), and `private-key` at
 * most once per negotiation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClientKems } from '../../src/client/kems.js';
import { negotiate } from '../../src/client/negotiate.js';
import { readTunnelStatus } from '../../src/client/status.js';
import type { HopSpec } from '../../src/client/types.js';
import { TunnelWatcher } from '../../src/client/watch.js';
import { DEFAULT_POLICY } from '../../src/client/watch-policy.js';
import { isPqpskError } from '../../src/errors.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { BedWgControl } from '../../src/testbed/wg-dump.js';
import type { WgControl, WgInterfaceState, WgPeerChange } from '../../src/wg/types.js';
import { FAKE_WG, fakeWgLog } from '../fixtures/recording-wg.js';
import { clientInterface, SimNetwork, simWatchDeps, startTestRelay, wgKeypair, type TestRelay } from './helpers.js';

const log = fakeWgLog('pqpsk-client-secret-reads');
const stateDir = mkdtempSync(join(tmpdir(), 'pqpsk-client-secret-reads-'));
const stateFile = join(stateDir, 'wg0.json');
process.env['FAKE_WG_STATE'] = stateFile;
after(() => {
  delete process.env['FAKE_WG_STATE'];
  rmSync(stateDir, { recursive: true, force: true });
});

const b64 = (key: Uint8Array | null): string | null => (key === null ? null : Buffer.from(key).toString('base64'));

/** The client's WgControl over the fake executable, which answers what the in-memory fake holds. */
class MirroredWg implements WgControl {
  readonly #real = new BedWgControl({ wgPath: FAKE_WG });
  constructor(private readonly mem: FakeWgControl) {}

  async summary(iface: string) {
    await this.#mirror(iface);
    return this.#real.summary(iface);
  }
  /** Not part of WgControl: here so that a client still reading `dump` would show up in the log. */
  async show(iface: string): Promise<WgInterfaceState> {
    await this.#mirror(iface);
    return this.#real.show(iface);
  }
  async readPrivateKey(iface: string) {
    await this.#mirror(iface);
    return this.#real.readPrivateKey(iface);
  }
  async latestHandshakes(iface: string) {
    await this.#mirror(iface);
    return this.#real.latestHandshakes(iface);
  }
  async set(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }) {
    await this.#mirror(iface);
    await this.#real.set(iface, change);
    await this.mem.set(iface, change);
  }

  /** The state file the fake executable answers from (throwaway test keys only). */
  async #mirror(iface: string): Promise<void> {
    const s = await this.mem.show(iface);
    const state = {
      publicKey: s.publicKey,
      privateKey: b64(this.mem.privateKeyOf(iface)),
      peers: s.peers.map((p) => ({ publicKey: p.publicKey, psk: b64(this.mem.presharedKeyOf(iface, p.publicKey)), allowedIps: p.allowedIps, latestHandshake: p.latestHandshake })),
    };
    writeFileSync(stateFile, JSON.stringify(state));
  }
}

/** The `wg show` forms run since `from` runs were logged: '' for `wg show <if>`, else the third word. */
function showForms(from: number): string[] {
  return log.runs().slice(from).filter((r) => r.argv[0] === 'show').map((r) => r.argv[2] ?? '');
}

function assertSecretFree(forms: readonly string[], privateKeyReads: number, what: string): void {
  assert.ok(!forms.includes('dump'), `${what}: ran \`wg show dump\` (${forms.join(', ')})`);
  assert.ok(!forms.includes('preshared-keys'), `${what}: ran \`wg show preshared-keys\` (${forms.join(', ')})`);
  assert.equal(forms.filter((f) => f === 'private-key').length, privateKeyReads, `${what}: private-key reads (${forms.join(', ')})`);
  assert.ok(forms.every((f) => ['', 'private-key', 'latest-handshakes'].includes(f)), `${what}: ${forms.join(', ')}`);
}

const kems = createClientKems(['ML-KEM-1024', 'HQC-256']);
const hop = (relay: TestRelay): HopSpec => ({ role: 'single', iface: 'wg0', peer: null, service: relay.address });

test('one-shot, a re-run that rolls back, a rotating watcher and status: no dump, no preshared-keys, private-key once per negotiation', async () => {
  const mem = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  const parent = await clientInterface(mem, 'wg0', relayKey, '10.64.0.1/32');
  const wg = new MirroredWg(mem);
  const good = await startTestRelay('good');
  const bad = await startTestRelay('wrong-ciphertext');
  try {
    const routes = new Map([
      [good.address, { iface: 'wg0', relayPeer: relayKey, relay: good, parentPublicKey: parent.publicKey }],
      [bad.address, { iface: 'wg0', relayPeer: relayKey, relay: bad, parentPublicKey: parent.publicKey }],
    ]);
    const net = new SimNetwork(mem, routes);

    // 1. One-shot from the parent key.
    let from = log.runs().length;
    await negotiate({ hops: [hop(good)], maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 1500 }, { wg, kems, probe: net, clock: net.clock });
    assertSecretFree(showForms(from), 1, 'one-shot');
    const ephemeral = good.registrations[0]!.ephemeral;
    assert.equal((await mem.summary('wg0')).publicKey, ephemeral);

    // 2. A re-run on that PSK with no parent key: refused before any secret is read.
    from = log.runs().length;
    const refused = await negotiate({ hops: [hop(good)], maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 1500 }, { wg, kems, probe: net, clock: net.clock }).then(
      () => assert.fail('expected a refusal'),
      (err: unknown) => err,
    );
    assert.ok(isPqpskError(refused, 'SETUP'), String(refused));
    assert.match(refused.message, /already has a PSK .* --config-file/);
    assertSecretFree(showForms(from), 0, 'refused re-run');
    assert.equal(good.registrations.length, 1, 'no request sent');

    // 3. With the parent key: the bad relay's PSK fails verification, and the way back is the parent key.
    from = log.runs().length;
    await assert.rejects(
      negotiate(
        { hops: [hop(bad)], maxAttempts: 1, timeoutScale: 1, verifyTimeoutMs: 400, parentKeys: new Map([['wg0', Uint8Array.from(parent.privateKey)]]) },
        { wg, kems, probe: net, clock: net.clock },
      ),
    );
    assertSecretFree(showForms(from), 1, 'rolled-back re-run');
    assert.equal((await mem.summary('wg0')).publicKey, parent.publicKey, 'back on the parent key');
    assert.equal(mem.presharedKeyOf('wg0', relayKey), null, 'with no PSK');

    // 4. A watcher: first switch and two rotations on one read of the private key.
    from = log.runs().length;
    let rotations = 0;
    const watcher: TunnelWatcher = await TunnelWatcher.open(
      { hops: [hop(good)], policy: { ...DEFAULT_POLICY, rotateMs: 600_000 }, timeoutScale: 1, verifyTimeoutMs: 1500, tickMs: 2000, probeTimeoutMs: 2000 },
      simWatchDeps(wg, kems, net, (line) => {
        if (line.startsWith('rotated: ') && ++rotations === 2) watcher.stop();
      }),
    );
    try {
      await watcher.run();
    } finally {
      watcher.close();
    }
    assert.equal(rotations, 2);
    assertSecretFree(showForms(from), 1, 'watcher');

    // 5. status: whether a PSK is set, from the secret-free form; no key read at all.
    from = log.runs().length;
    mem.setLatestHandshake('wg0', relayKey, Math.floor(Date.now() / 1000));
    const status = await readTunnelStatus('wg0', null, { wg, askHolder: async () => null, readKeyNote: async () => null });
    assertSecretFree(showForms(from), 0, 'status');
    assert.deepEqual({ psk: status.psk, pskOrigin: status.pskOrigin }, { psk: true, pskOrigin: 'unknown' }, 'a PSK is seen; with no watcher and no note, not vouched for');
    assert.equal(status.pskFingerprint, null, 'no watcher, no fingerprint: the PSK is not read');
  } finally {
    good.close();
    bad.close();
  }
});

test('WG_HIDE_KEYS=never in the environment does not make `wg show <if>` print keys to pqpsk', async () => {
  const mem = new FakeWgControl();
  const relayKey = wgKeypair().publicKey;
  await clientInterface(mem, 'wg0', relayKey, '10.64.0.1/32');
  await mem.set('wg0', { peers: [{ publicKey: relayKey, presharedKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1) }] });
  const wg = new MirroredWg(mem);
  process.env['WG_HIDE_KEYS'] = 'never';
  try {
    const summary = await wg.summary('wg0');
    assert.deepEqual(summary.peers, [{ publicKey: relayKey, hasPresharedKey: true }]);
  } finally {
    delete process.env['WG_HIDE_KEYS'];
  }
});
