/**
 * Section 7: the relay under a flood, on the benchmark's `wg` stand-in (the interface held
 * by a process of its own, a thin `wg` executable that prints real `wg show` text for
 * every peer, so the relay spawns and parses its reads as in production at about a real
 * `wg`'s cost, and the stand-in refuses and counts any form that prints a secret): one
 * legitimate registration a second from a fresh parent, unloaded and then while another
 * source sends refused requests as fast as it can and opens tens of thousands of idle
 * streams. Figures: the relay's event-loop p99 and RSS, the legitimate median latency.
 */
import { measureFlood, type FloodBenchResult } from '../harness/relay-flood.js';
import { f0, f1 } from '../harness/stats.js';
import { describeStandin } from '../harness/wg-standin.js';
import { statusOf, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

export type FloodSection = NotMeasured | ({ readonly measured: true } & FloodBenchResult);

/** The goals this section is held against. */
export const FLOOD_LIMITS = Object.freeze({ eventLoopP99Ms: 50, latencyRatio: 1.5 });

export const floodSection: BenchSection<'flood'> = {
  key: 'flood',
  heading: '7. Relay under a flood (wg stand-in in its own process printing real `wg show` text; 1 legitimate registration/s; flood from another source)',
  async measure(ctx) {
    ctx.say(`relay under a flood: ${ctx.plan.floodPeers} peers, ${ctx.plan.floodSeconds} s unloaded then ${ctx.plan.floodSeconds} s flooded`);
    const r = await measureFlood({ peers: ctx.plan.floodPeers, seconds: ctx.plan.floodSeconds, hqcWorkers: 1 });
    return { measured: true, ...r };
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(s) {
    if (!s.measured) return [`   not measured: ${s.reason}`];
    const row = (name: string, p: FloodBenchResult['unloaded']): string =>
      `   ${name.padEnd(10)} ${String(p.registrations).padStart(6)} ${String(p.failures).padStart(8)} ${f0(p.latencyP50Ms).padStart(7)} ${f1(p.eventLoopP99Ms).padStart(9)} ${f0(p.rssMb).padStart(7)}`;
    return [
      `   ${s.peers} peers, ${s.seconds} s per phase`,
      `   ${'phase'.padEnd(10)} ${'regs'.padStart(6)} ${'failures'.padStart(8)} ${'p50 ms'.padStart(7)} ${'loop p99'.padStart(9)} ${'RSS MB'.padStart(7)}`,
      row('unloaded', s.unloaded),
      row('flooded', s.flood),
      `   legitimate latency flooded ÷ unloaded: ${s.latencyRatio.toFixed(2)}`,
      `   ${s.wgStandIn === null ? 'wg stand-in: no counts' : describeStandin(s.wgStandIn)}`,
    ];
  },
  targets(s): TargetLine[] {
    const m = s.measured ? s : null;
    const note = m === null ? (s as NotMeasured).reason : '';
    const line = (target: string, value: number | null, limit: number, unit: string): TargetLine => ({
      target,
      value,
      limit,
      unit,
      status: statusOf(value, limit, true),
      note,
    });
    return [
      line(`event-loop p99 at ${m?.peers ?? 10_000} peers, 1 registration/s ≤ ${FLOOD_LIMITS.eventLoopP99Ms} ms`, m?.unloaded.eventLoopP99Ms ?? null, FLOOD_LIMITS.eventLoopP99Ms, 'ms'),
      line(`event-loop p99 under the flood ≤ ${FLOOD_LIMITS.eventLoopP99Ms} ms`, m?.flood.eventLoopP99Ms ?? null, FLOOD_LIMITS.eventLoopP99Ms, 'ms'),
      line(`legitimate latency under the flood ÷ unloaded ≤ ${FLOOD_LIMITS.latencyRatio}`, m?.latencyRatio ?? null, FLOOD_LIMITS.latencyRatio, '×'),
      line('`wg` forms printing a secret run by the relay (refused by the stand-in) = 0', m?.wgStandIn?.refusedSecret ?? null, 0, 'runs'),
    ];
  },
};
