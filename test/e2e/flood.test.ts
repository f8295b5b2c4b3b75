/**
 * End-to-end: the relay under attack on real wireguard-go. A second tunnel client sends
 * bogus RegisterPeerV1 requests as fast as it can and opens tens of thousands of idle
 * streams, while the legitimate client registers. Asserted: every legitimate
 * registration succeeds, the relay's RSS grows by less than 32 MB, /healthz answers
 * within 1 s throughout. The latency figures are printed (speed is measured by the
 * benchmark, not asserted here). All traffic starts inside namespaces this file created.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { BED_RELAY_USER, PQPSK_ARGV, addTunnelClient, buildSingleHop, type BedProcess } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

const ACTOR = fileURLToPath(new URL('../fixtures/flood-actor.js', import.meta.url));
const SERVICE = '10.64.0.1:1337';
const METRICS = '127.0.0.1:19464';
const PHASE_SECONDS = 20;
const skip = e2eSkip();

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

async function jsonOf(proc: BedProcess): Promise<Record<string, unknown>> {
  const exit = await proc.exited;
  const { stdout, stderr } = proc.output();
  assert.equal(exit.exitCode, 0, `${proc.command} failed: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

describe('e2e: the relay under a flood from another tunnel client', { skip }, () => {
  test('legitimate registrations all succeed, RSS grows < 32 MB, /healthz within 1 s', async (t) => {
    requireBed();
    const hop = await buildSingleHop();
    const { bed, topology } = hop;
    const stateDir = mkdtempSync(join(tmpdir(), 'pqpsk-e2e-flood-'));
    let server: BedProcess | undefined;
    try {
      const attacker = await addTunnelClient(hop, 'atk', '10.64.0.3');
      server = bed.spawnIn(topology.relay.namespace, [
        ...PQPSK_ARGV, 'server', '--interface', topology.relay.iface, '--user', BED_RELAY_USER, '--listen', SERVICE,
        '--metrics', METRICS, '--state-dir', stateDir, '--hqc-workers', '1', '--rate-limit', '20/60',
      ]);
      await server.waitForOutput(/"event":"listening"/, 30_000);
      const node = (ns: string, ...args: string[]): BedProcess => bed.spawnIn(ns, [process.execPath, ACTOR, ...args]);
      const legit = (count: number): BedProcess =>
        node(topology.client.namespace, 'legit', '--service', SERVICE, '--parent', topology.client.publicKey, '--count', String(count));

      // Two phases of the same length and the same load apart from the attacker: /healthz
      // probed every 100 ms and three registrations. RSS is sampled throughout; the growth
      // is the attack phase's peak over the unloaded phase's (which includes what the
      // relay's own work and warm-up take).
      assert.deepEqual((await jsonOf(legit(2)))['failures'], [], 'warm-up registrations succeed');
      let peak = 0;
      const sample = (): void => {
        try {
          peak = Math.max(peak, rssMb(server!.pid));
        } catch {
          // the relay exited; the assertions below say so
        }
      };
      const control = process.env['PQPSK_FLOOD_CONTROL'] === '1';
      const phase = async (attacking: boolean): Promise<{ legit: Record<string, unknown>; attack: Record<string, unknown>; probe: Record<string, unknown>; peak: number }> => {
        peak = 0;
        const sampler = setInterval(sample, 200);
        try {
          const probe = node(topology.relay.namespace, 'probe', '--url', `http://${METRICS}/healthz`, '--seconds', String(PHASE_SECONDS));
          const on = attacking && !control;
          const attack = node(attacker.namespace, 'attack', '--service', SERVICE, '--parent', topology.client.publicKey,
            '--seconds', String(PHASE_SECONDS), '--streams', on ? '40000' : '0', '--flood', on ? '1' : '0');
          await new Promise((r) => setTimeout(r, 3000)); // let the flood reach full speed
          const registered = await jsonOf(legit(3));
          const [attacked, probed] = await Promise.all([jsonOf(attack), jsonOf(probe)]);
          sample();
          return { legit: registered, attack: attacked, probe: probed, peak };
        } finally {
          clearInterval(sampler);
        }
      };
      const unloaded = await phase(false);
      assert.deepEqual(unloaded.legit['failures'], [], 'unloaded registrations succeed');
      const flooded = await phase(true);
      const quiet = unloaded.legit;
      const loaded = flooded.legit;
      const attacked = flooded.attack;
      const probed = flooded.probe;
      const baseline = unloaded.peak;
      peak = flooded.peak;

      const quietMs = quiet['latencies'] as number[];
      const loadedMs = loaded['latencies'] as number[];
      t.diagnostic(`unloaded latencies ms: ${quietMs.map(Math.round).join(', ')}; under attack: ${loadedMs.map(Math.round).join(', ')}`);
      t.diagnostic(`median ratio under attack / unloaded: ${(median(loadedMs) / median(quietMs)).toFixed(2)}`);
      t.diagnostic(`relay RSS: ${baseline.toFixed(1)} MB peak unloaded, ${peak.toFixed(1)} MB peak under attack (growth ${(peak - baseline).toFixed(1)} MB)`);
      t.diagnostic(`attacker: ${JSON.stringify(attacked)}`);
      t.diagnostic(`/healthz under attack: ${JSON.stringify(probed)}; unloaded: ${JSON.stringify(unloaded.probe)}`);

      assert.deepEqual(loaded['failures'], [], 'every legitimate registration under attack succeeds');
      assert.equal(loadedMs.length, 3);
      assert.ok(peak - baseline < 32, `relay RSS grew by ${(peak - baseline).toFixed(1)} MB`);
      for (const p of [unloaded.probe, probed]) assert.deepEqual(p['failures'], [], '/healthz always answered 200');
      assert.ok((probed['answered'] as number) > 0);
      assert.ok((probed['worstMs'] as number) < 1000, `/healthz took ${Math.round(probed['worstMs'] as number)} ms at worst`);
      const statuses = attacked['statuses'] as Record<string, number>;
      // PERMISSION_DENIED (7) until the attacker's refusal budget is spent, RESOURCE_EXHAUSTED (8) after.
      assert.ok((statuses['grpc-status 7'] ?? 0) > 0 && (statuses['grpc-status 8'] ?? 0) > 0, JSON.stringify(statuses));
      assert.equal(server.running, true, 'the relay survived');
    } finally {
      await server?.stop();
      await bed.teardown();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
