/**
 * The relay under a flood, as the benchmark measures it: a relay host with `peers` peers
 * on the benchmark's `wg` stand-in (wg-standin.ts: the interface in a process of its own,
 * a thin `wg` executable printing real `wg show` text, so every read is spawned and
 * parsed as in production and costs about what a real `wg` costs), one legitimate registration a second from a fresh parent,
 * first unloaded, then while another source sends refused requests as fast as it can and
 * opens tens of thousands of idle streams (test/fixtures/flood-actor.js, a child process, so
 * the flood's own work is not on the measured event loops). Figures: the relay's
 * event-loop p99 and RSS, and the legitimate latency, in both phases.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { RegisterRequestInput } from '../../src/rpc/proto.js';
import { RelayHost } from './relay-memory.js';
import type { StandinCounts } from './wg-standin.js';
import { callFromSource, sourceAddress } from './source-address.js';
import { medianOf } from './stats.js';

const FLOOD_ACTOR = fileURLToPath(new URL('../../test/fixtures/flood-actor.js', import.meta.url));

export interface FloodPhase {
  readonly registrations: number;
  readonly failures: number;
  readonly latencyP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly rssMb: number;
}

export interface FloodBenchResult {
  readonly peers: number;
  readonly seconds: number;
  readonly unloaded: FloodPhase;
  readonly flood: FloodPhase;
  /** Legitimate median latency under the flood ÷ unloaded. */
  readonly latencyRatio: number;
  /** What the stand-in served over both phases; `refusedSecret` must be 0. */
  readonly wgStandIn: StandinCounts | null;
}

export async function measureFlood(options: { readonly peers: number; readonly seconds: number; readonly hqcWorkers: number }): Promise<FloodBenchResult> {
  const fresh = 2 * options.seconds + 4;
  const seedLive = Math.max(0, options.peers - fresh);
  const host = RelayHost.spawn();
  try {
    const started = await host.request(
      { type: 'start', mode: 'standin', iface: 'pqbench0', seedLive, freshParents: fresh, hqcWorkers: options.hqcWorkers, maxInflight: 32 },
      'started',
      170_000,
    );
    const mlKem = await createMlKem1024().keygen();
    mlKem.secretKey.fill(0);
    let next = 0;
    let wgStandIn: StandinCounts | null = null;
    const phase = async (flooding: boolean): Promise<FloodPhase> => {
      let actor: ReturnType<typeof spawn> | undefined;
      if (flooding) {
        actor = spawn(process.execPath, [FLOOD_ACTOR, 'attack', '--service', started.address, '--parent', started.freshParents[0] ?? '', '--seconds', String(options.seconds + 3), '--streams', '20000'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 2000)); // let it reach full speed
      }
      await host.stats(); // resets the event-loop sampling
      const latencies: number[] = [];
      let failures = 0;
      const t0 = performance.now();
      for (let s = 0; s < options.seconds; s++) {
        const i = next++;
        const parent = started.freshParents[i];
        if (parent === undefined) break;
        const request: RegisterRequestInput = {
          wg_parent_pubkey: Buffer.from(parent, 'base64'),
          wg_ephemeral_peer_pubkey: randomBytes(32),
          post_quantum: { kem_pubkeys: [{ algorithm_name: 'ML-KEM-1024', key_data: mlKem.publicKey }] },
        };
        const c0 = performance.now();
        try {
          await callFromSource(started.address, sourceAddress(seedLive + i), request);
          latencies.push(performance.now() - c0);
        } catch {
          failures++;
        }
        const wait = t0 + (s + 1) * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const stats = await host.stats();
      wgStandIn = stats.wgStandIn;
      actor?.kill('SIGTERM');
      return {
        registrations: latencies.length,
        failures,
        latencyP50Ms: medianOf(latencies),
        eventLoopP99Ms: stats.loopP99Ms,
        rssMb: stats.rssBytes / 1048576,
      };
    };
    const unloaded = await phase(false);
    const flood = await phase(true);
    return { peers: options.peers, seconds: options.seconds, unloaded, flood, latencyRatio: flood.latencyP50Ms / unloaded.latencyP50Ms, wgStandIn };
  } finally {
    await host.stop();
  }
}
