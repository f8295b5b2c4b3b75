/**
 * Section 2: one single-hop negotiation on the real bed, `pqpsk negotiate` as a fresh
 * process each time, held against the crypto it contains (this run's KEM medians, and the
 * client's operations cold in a fresh process), and the process's own overhead.
 */
import { measureNegotiation, type NegotiationMedians, type NegotiationSample } from '../harness/bed-negotiation.js';
import { measureColdClientCrypto, type ColdClientCrypto } from '../harness/cold-crypto.js';
import type { OperationTiming } from '../harness/kem-timing.js';
import { f0, f1 } from '../harness/stats.js';
import { statusOf, unmeasuredTarget, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

/** The sum the client's total is held against: both KEMs' keygen + encapsulate + decapsulate (medians). */
export interface CryptoSum {
  readonly clientKeygenMs: number;
  readonly relayEncapsMs: number;
  readonly clientDecapsMs: number;
  readonly totalMs: number;
}

/** Client negotiation figures with the crypto they are held against, or why there are none. */
export type NegotiationSection =
  | NotMeasured
  | {
      readonly measured: true;
      readonly runs: number;
      readonly medians: NegotiationMedians;
      /** Each counted negotiation's hop timings, as `negotiate --json` reported them. */
      readonly samples: readonly NegotiationSample[];
      readonly cryptoSum: CryptoSum;
      /** The client's side of the same operations in a fresh process (keygen, decaps), plus the relay's warm encapsulations. */
      readonly coldClient: ColdClientCrypto & { readonly cryptoSumMs: number };
    };

/** The goals this section is held against. */
export const NEGOTIATION_LIMITS = Object.freeze({
  factor: 1.2,
  slackMs: 15,
  /** `pqpsk negotiate` process wall time minus its own negotiation total. */
  processOverheadMs: 300,
});

/** The crypto sum from this run's KEM medians (both KEMs offered by default). */
export function cryptoSumOf(timings: readonly OperationTiming[]): CryptoSum {
  const pick = (op: OperationTiming['operation']): number =>
    timings.filter((t) => t.operation === op && (t.kem === 'ML-KEM-1024' || t.kem === 'HQC-256')).reduce((sum, t) => sum + t.medianMs, 0);
  const clientKeygenMs = pick('keygen');
  const relayEncapsMs = pick('encapsulate');
  const clientDecapsMs = pick('decapsulate');
  return { clientKeygenMs, relayEncapsMs, clientDecapsMs, totalMs: clientKeygenMs + relayEncapsMs + clientDecapsMs };
}

const CLIENT_TOTAL = 'client total ≤ 1.2 × crypto sum + 15 ms';
const PROCESS_OVERHEAD = `pqpsk negotiate process wall − its negotiation total ≤ ${NEGOTIATION_LIMITS.processOverheadMs} ms`;

export const negotiationSection: BenchSection<'negotiation'> = {
  key: 'negotiation',
  heading: '2. Client negotiation on the real bed (pqpsk negotiate --json in the client namespace; pqpsk server in the relay namespace)',
  async measure(ctx, earlier) {
    const unavailable = ctx.bedUnavailable('client negotiation');
    if (unavailable !== null) return unavailable;
    ctx.say(`client negotiation on the real bed (${ctx.plan.negotiations} runs + 1 warm-up)`);
    const result = await measureNegotiation(ctx.plan.negotiations);
    if (!result.measured) return result;
    if (result.leftovers.length > 0) ctx.say(`WARNING: bed teardown left ${result.leftovers.join(', ')}`);
    // Without this run's KEM timings (--only) the sum is unknown and its target reads "not measured".
    const timings = earlier.kem?.timings ?? [];
    const sum = timings.length > 0 ? cryptoSumOf(timings) : { clientKeygenMs: Number.NaN, relayEncapsMs: Number.NaN, clientDecapsMs: Number.NaN, totalMs: Number.NaN };
    const cold = await measureColdClientCrypto();
    return {
      measured: true,
      runs: result.runs,
      medians: result.medians,
      samples: result.samples,
      cryptoSum: sum,
      coldClient: { ...cold, cryptoSumMs: cold.keygenMs + sum.relayEncapsMs + cold.decapsMs },
    };
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(n) {
    if (!n.measured) return [`   not measured: ${n.reason}`];
    const m = n.medians;
    const c = n.cryptoSum;
    const encaps = Object.entries(m.relayEncapsMs).map(([k, v]) => `${k} ${f1(v)}`).join(', ');
    return [
      `   medians of ${n.runs} negotiations (after 1 warm-up), ms:`,
      `   keygen ${f0(m.keygenMs)} | rpc ${f0(m.rpcMs)} (relay handler ${f1(m.relayHandlerMs)}: ${encaps}) | decaps ${f0(m.decapsMs)} | switch ${f0(m.switchMs)} | verify ${f0(m.verifyMs)}`,
      `   negotiation without verify (keygen + rpc + decaps + switch)   ${f0(m.withoutVerifyMs).padStart(6)} ms   ← the target's "client total"`,
      `   hop total with verify (handshake + relay watcher + TCP)     ${f0(m.totalMs).padStart(6)} ms   (not the target's total; against the same bound it would be ${(m.totalMs / clientTotalLimit(c)).toFixed(1)} ×)`,
      `   negotiate() end to end (reads the interface, may wait out the handshake second) ${f0(m.negotiateMs)} ms`,
      `   pqpsk negotiate process, spawn to exit (node start-up)       ${f0(m.processMs).padStart(6)} ms`,
      `   process minus its own negotiation total (start-up, loading, exit; median of per-run differences) ${f0(m.processOverheadMs)} ms`,
      `   crypto sum (this run's KEM medians): client keygen ${f1(c.clientKeygenMs)} + relay encaps ${f1(c.relayEncapsMs)} + client decaps ${f1(c.clientDecapsMs)} = ${f1(c.totalMs)} ms`,
      `   client crypto cold, in a fresh process as negotiate runs it: keygen ${f1(n.coldClient.keygenMs)} + decaps ${f1(n.coldClient.decapsMs)} (+ relay encaps ${f1(c.relayEncapsMs)}) = ${f1(n.coldClient.cryptoSumMs)} ms`,
    ];
  },
  targets(n) {
    if (!n.measured) return [unmeasuredTarget(CLIENT_TOTAL, 'ms', n.reason), unmeasuredTarget(PROCESS_OVERHEAD, 'ms', n.reason)];
    const limit = clientTotalLimit(n.cryptoSum);
    const lines: TargetLine[] = [
      {
        target: CLIENT_TOTAL,
        value: n.medians.withoutVerifyMs,
        limit,
        unit: 'ms',
        status: statusOf(n.medians.withoutVerifyMs, limit, true),
        note: 'total = keygen + rpc + decaps + switch (negotiation without verify); verify waits for a WireGuard handshake and the relay watcher, which are not crypto',
      },
      {
        target: PROCESS_OVERHEAD,
        value: n.medians.processOverheadMs,
        limit: NEGOTIATION_LIMITS.processOverheadMs,
        unit: 'ms',
        status: statusOf(n.medians.processOverheadMs, NEGOTIATION_LIMITS.processOverheadMs, true),
        note: 'spawned through `ip netns exec`, which is counted',
      },
    ];
    return lines;
  },
};

function clientTotalLimit(c: CryptoSum): number {
  return NEGOTIATION_LIMITS.factor * c.totalMs + NEGOTIATION_LIMITS.slackMs;
}
