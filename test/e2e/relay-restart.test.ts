/**
 * End-to-end: `pqpsk server` restarted on the real bed while a client waits for it, as a
 * script that starts the relay and upgrades at once, or a relay restart while clients
 * reconnect. Each round a Mullvad-style client in the client namespace calls the moment
 * the service port accepts TCP — once, without retry — and must be registered, never told
 * the relay is shutting down.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pskFingerprint } from '../../src/kem/psk.js';
import { buildSingleHop, peerPskFingerprint, startRelayServer } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

const CHILD = fileURLToPath(new URL('./startup-race-child.js', import.meta.url));
const ROUNDS = 5;

type ChildAnswer =
  | { readonly ok: true; readonly acceptedAt: number; readonly publicKey: string; readonly psk: string }
  | { readonly ok: false; readonly acceptedAt: number; readonly code: unknown; readonly details: string };

test(`relay restarted ${ROUNDS} times, a client calling the moment its port accepts: registered every time`, { skip: e2eSkip() }, async (ctx) => {
  requireBed();
  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-restart-'));
  const { bed, topology: t } = await buildSingleHop();
  try {
    const outcomes: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const client = bed.spawnIn(t.client.namespace, [process.execPath, CHILD, `${t.relay.gateway}:1337`, t.client.publicKey, 'ML-KEM-1024,HQC-256']);
      // The client has its keys and is polling before the relay starts.
      await client.waitForOutput(/^polling$/m, 30_000);
      const relay = await startRelayServer(bed, t.relay, stateDir);
      const exit = await client.exited;
      const { stdout, stderr } = client.output();
      assert.equal(exit.exitCode, 0, `round ${round}: the client failed: ${stderr.slice(-500)}`);
      const answer = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildAnswer;
      // When the relay said it was listening, as its own log line tells (after its opening).
      const listening = /\{"time":"([^"]+)","level":"info","event":"listening"/.exec(relay.output().stdout);
      const beforeOpen = listening !== null && answer.acceptedAt < Date.parse(listening[1]!);
      outcomes.push(`round ${round}: ${answer.ok ? 'registered' : `${String(answer.code)} ${answer.details}`}${beforeOpen ? ' (port accepted before the relay was open)' : ''}`);
      assert.ok(answer.ok, `round ${round}: the single call failed: ${answer.ok ? '' : `${String(answer.code)} ${answer.details}`}`);
      const psk = new Uint8Array(Buffer.from(answer.psk, 'base64'));
      try {
        assert.equal(await peerPskFingerprint(t.relay.namespace, t.relay.iface, answer.publicKey), pskFingerprint(psk), `round ${round}: same PSK on both ends`);
      } finally {
        psk.fill(0);
      }
      const stopped = await relay.stop('SIGTERM', 10_000);
      assert.equal(stopped.exitCode, 0, `round ${round}: the relay stops cleanly`);
    }
    for (const line of outcomes) ctx.diagnostic(line);
    assert.ok(outcomes.every((line) => !/shutting down/.test(line)));
  } finally {
    await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
});
