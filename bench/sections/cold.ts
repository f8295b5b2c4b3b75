/**
 * Section 8: cold starts, as a user meets them. The relay's HQC-256 and ML-KEM-1024
 * encapsulation over its first registrations against its steady state (a fresh relay
 * process each run, warmed before it opens: see src/server/warm.ts), and a one-shot
 * `pqpsk negotiate`'s keygen + decaps in a fresh process against the same steps warm.
 * Each figure is the median over the plan's runs, each run a fresh process.
 */
import { measureColdClientCrypto } from '../harness/cold-crypto.js';
import { FIRST_CALLS, measureRelayFirstCalls, type FirstCallsFigure } from '../harness/relay-first-calls.js';
import { f1, medianOf } from '../harness/stats.js';
import { reasonOf, statusOf, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

/** One KEM of the relay: medians over the runs. */
export interface RelayColdRow {
  readonly algorithm: string;
  readonly firstMeanMs: number;
  readonly steadyMedianMs: number;
  readonly ratio: number;
  /** Each run's ratio, in run order. */
  readonly ratios: readonly number[];
}

/** The one-shot client: medians over the runs, ms. */
export interface ClientColdRow {
  readonly coldMs: number;
  readonly warmMs: number;
  readonly ratio: number;
  readonly ratios: readonly number[];
}

/** The cold-start figures of this run. */
export interface ColdSection {
  readonly runs: number;
  readonly relay: NotMeasured | { readonly measured: true; readonly rows: readonly RelayColdRow[] };
  readonly client: NotMeasured | ({ readonly measured: true } & ClientColdRow);
}

/** The goals this section is held against (first ÷ steady, cold ÷ warm). */
export const COLD_LIMITS = Object.freeze({ relayRatio: 1.5, clientRatio: 3 });

const relayTarget = (algorithm: string): string => `relay ${algorithm} encapsulation, first ${FIRST_CALLS} registrations ÷ steady ≤ ${COLD_LIMITS.relayRatio}`;
const CLIENT_TARGET = `pqpsk negotiate keygen + decaps, cold ÷ warm ≤ ${COLD_LIMITS.clientRatio}`;

async function measureRelay(runs: number, steadyCalls: number): Promise<RelayColdRow[]> {
  const all: FirstCallsFigure[][] = [];
  for (let i = 0; i < runs; i++) all.push(await measureRelayFirstCalls(steadyCalls));
  return all[0]!.map(({ algorithm }) => {
    const mine = all.map((run) => run.find((f) => f.algorithm === algorithm)!);
    return {
      algorithm,
      firstMeanMs: medianOf(mine.map((f) => f.firstMeanMs)),
      steadyMedianMs: medianOf(mine.map((f) => f.steadyMedianMs)),
      ratio: medianOf(mine.map((f) => f.ratio)),
      ratios: mine.map((f) => f.ratio),
    };
  });
}

async function measureClient(runs: number): Promise<ClientColdRow> {
  const cold: number[] = [];
  const warm: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = await measureColdClientCrypto();
    cold.push(c.keygenMs + c.decapsMs);
    warm.push(c.warmKeygenMs + c.warmDecapsMs);
    ratios.push((c.keygenMs + c.decapsMs) / (c.warmKeygenMs + c.warmDecapsMs));
  }
  return { coldMs: medianOf(cold), warmMs: medianOf(warm), ratio: medianOf(ratios), ratios };
}

const ratioText = (ratios: readonly number[]): string => ratios.map((r) => `${f1(r)}×`).join(', ');

export const coldSection: BenchSection<'cold'> = {
  key: 'cold',
  heading: '9. Cold start (fresh processes: the relay\'s first registrations, a one-shot negotiate\'s crypto)',
  async measure(ctx) {
    const runs = ctx.plan.coldRuns;
    ctx.say(`cold start: ${runs} fresh relay process(es), ${FIRST_CALLS} + ${ctx.plan.coldSteadyCalls} registrations each`);
    let relay: ColdSection['relay'];
    try {
      relay = { measured: true, rows: await measureRelay(runs, ctx.plan.coldSteadyCalls) };
    } catch (err) {
      relay = { measured: false, reason: reasonOf(err) };
    }
    ctx.say(`cold start: ${runs} fresh client process(es)`);
    let client: ColdSection['client'];
    try {
      client = { measured: true, ...(await measureClient(runs)) };
    } catch (err) {
      client = { measured: false, reason: reasonOf(err) };
    }
    return { runs, relay, client };
  },
  skipped: (reason) => ({ runs: 0, relay: { measured: false, reason }, client: { measured: false, reason } }),
  format(s) {
    const out: string[] = [];
    if (!s.relay.measured) out.push(`   relay: not measured — ${s.relay.reason}`);
    else {
      out.push(`   relay encapsulation ms     first ${FIRST_CALLS} (mean)   steady (median)   first ÷ steady   goal    runs`);
      for (const r of s.relay.rows) {
        out.push(`   ${r.algorithm.padEnd(26)} ${f1(r.firstMeanMs).padStart(16)} ${f1(r.steadyMedianMs).padStart(17)} ${`${f1(r.ratio)}×`.padStart(16)}   ≤ ${COLD_LIMITS.relayRatio}×   ${ratioText(r.ratios)}`);
      }
    }
    if (!s.client.measured) out.push(`   pqpsk negotiate: not measured — ${s.client.reason}`);
    else {
      const c = s.client;
      out.push(`   pqpsk negotiate keygen + decaps: cold ${f1(c.coldMs)} ms, warm ${f1(c.warmMs)} ms, cold ÷ warm ${f1(c.ratio)}× (goal ≤ ${COLD_LIMITS.clientRatio}×; runs ${ratioText(c.ratios)})`);
    }
    out.push(`   (median over ${s.runs} fresh process${s.runs === 1 ? '' : 'es'} each)`);
    return out;
  },
  targets(s) {
    const lines: TargetLine[] = (s.relay.measured ? s.relay.rows : [{ algorithm: 'HQC-256', ratio: null }, { algorithm: 'ML-KEM-1024', ratio: null }]).map(
      (r): TargetLine => ({
        target: relayTarget(r.algorithm),
        value: r.ratio,
        limit: COLD_LIMITS.relayRatio,
        unit: '×',
        status: statusOf(r.ratio, COLD_LIMITS.relayRatio, true),
        note: s.relay.measured ? `median of ${s.runs} fresh relays` : s.relay.reason,
      }),
    );
    const ratio = s.client.measured ? s.client.ratio : null;
    lines.push({
      target: CLIENT_TARGET,
      value: ratio,
      limit: COLD_LIMITS.clientRatio,
      unit: '×',
      status: statusOf(ratio, COLD_LIMITS.clientRatio, true),
      note: s.client.measured ? `median of ${s.runs} fresh processes` : s.client.reason,
    });
    return lines;
  },
};
