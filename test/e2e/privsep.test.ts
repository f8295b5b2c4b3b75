/**
 * `pqpsk server` started as root on the real bed: the process that owns port 1337 (and
 * each of its threads, the HQC workers among them) runs as the relay user with no
 * capability while registrations work; the root broker is its parent; either dying
 * stops the other.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BED_RELAY_USER, buildSingleHop, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';
import { NOBODY_UID, credentials, listenerPid, waitGone } from './helpers.js';

describe('e2e: the relay on port 1337 holds no privilege', { skip: e2eSkip() }, () => {
  test('Uid ≠ 0 and CapEff 0 in every thread of the listener while registrations work; the book is the relay user\'s; SIGTERM stops both', async (ctx) => {
    requireBed();
    const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-privsep-'));
    const { bed, topology: t } = await buildSingleHop();
    try {
      const broker = await startRelayServer(bed, t.relay, stateDir);
      const relayPid = await listenerPid(bed, t.relay.namespace);
      assert.notEqual(relayPid, broker.pid, 'the listener is not the process started');
      const relay = credentials(`/proc/${relayPid}/status`);
      assert.equal(relay.ppid, broker.pid, 'the listener is the broker\'s child');
      assert.deepEqual(relay.uids, [NOBODY_UID, NOBODY_UID, NOBODY_UID, NOBODY_UID], `runs as ${BED_RELAY_USER}`);
      const threads = readdirSync(`/proc/${relayPid}/task`);
      assert.ok(threads.length > 1, 'the relay has its worker threads');
      for (const tid of threads) assert.equal(credentials(`/proc/${relayPid}/task/${tid}/status`).capEff, '0000000000000000', `thread ${tid}: no capability`);
      const root = credentials(`/proc/${broker.pid}/status`);
      assert.equal(root.uids[1], 0, 'the broker stays root');
      assert.notEqual(root.capEff, '0000000000000000');

      const r = await runNegotiate(bed, t.client.namespace, ['--interface', t.client.iface, '--max-attempts', '1', '--json']);
      assert.equal(r.exitCode, 0, r.stderr);
      const hop = parseNegotiateJson(r.stdout).hops[0]!;
      assert.equal(await peerPskFingerprint(t.relay.namespace, t.relay.iface, hop.ephemeralPublicKey), await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey));
      const book = join(stateDir, t.relay.iface, `${t.relay.iface}.book.json`);
      assert.equal(statSync(book).uid, NOBODY_UID, 'the relay wrote its book as its own user');
      assert.equal(statSync(join(stateDir, t.relay.iface)).uid, NOBODY_UID);
      ctx.diagnostic(`listener pid ${relayPid} uid ${relay.uids.join(' ')} CapEff ${relay.capEff} (${threads.length} threads); broker pid ${broker.pid} CapEff ${root.capEff}`);

      const exit = await broker.stop('SIGTERM', 20_000);
      assert.equal(exit.exitCode, 0, 'a clean stop exits 0');
      assert.deepEqual(await waitGone([relayPid]), [], 'the relay is gone with its broker');
      assert.match(broker.output().stdout, /"event":"given-back"/);
    } finally {
      await bed.teardown();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test('the relay dies: the broker exits 1; the broker dies: the relay stops', async () => {
    requireBed();
    const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-privsep-'));
    const { bed, topology: t } = await buildSingleHop();
    try {
      const first = await startRelayServer(bed, t.relay, stateDir);
      process.kill(await listenerPid(bed, t.relay.namespace), 'SIGKILL');
      const exit = await first.exited;
      assert.equal(exit.exitCode, 1, 'a broker whose relay died exits non-zero, for its supervisor to restart it');

      const second = await startRelayServer(bed, t.relay, stateDir);
      const relayPid = await listenerPid(bed, t.relay.namespace);
      await second.stop('SIGKILL');
      assert.deepEqual(await waitGone([relayPid]), [], 'a relay whose broker died stops');
      await second.exited;
      assert.match(second.output().stderr, /^pqpsk server: the privileged broker exited; the relay stops/m);
    } finally {
      await bed.teardown();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
