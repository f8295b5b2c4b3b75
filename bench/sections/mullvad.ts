/**
 * Section 8: Mullvad's own client for wg-quick users beside `pqpsk negotiate`, on one bed
 * against one `pqpsk server`, interleaved (harness/bed-mullvad.ts): how long each takes
 * from process start until the interface is on the new key, and how long ours then takes
 * to prove the tunnel works. Mullvad's client has no HQC-256, so our two-KEM run is held
 * against its ML-KEM-1024 figure plus what HQC-256 adds on a client (keygen + decaps,
 * warm medians measured here).
 */
import { createClientKems } from '../../src/client/kems.js';
import { CLIENT_KINDS, measureClientsSideBySide, type ClientKind, type SideBySideSample } from '../harness/bed-mullvad.js';
import { measureKem } from '../harness/kem-timing.js';
import { f0, f1, medianOf } from '../harness/stats.js';
import { statusOf, unmeasuredTarget, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

/** One client's runs, ms. */
export interface ClientRow {
  readonly kind: ClientKind;
  readonly startToSwitchedMs: readonly number[];
  readonly processMs: readonly number[];
  readonly medianStartToSwitchedMs: number;
  readonly medianProcessMs: number;
  /** Ours only: median of negotiate() start → switched from `--json` (NaN for Mullvad's). */
  readonly medianInProcessMs: number;
}

/** The side-by-side figures, or why there are none. */
export type MullvadSection =
  | NotMeasured
  | {
      readonly measured: true;
      readonly runs: number;
      readonly rows: readonly ClientRow[];
      /** Resolution of start → switched: one `wg show public-key` poll, median. */
      readonly pollMs: number;
      /** HQC-256 keygen + decapsulation on the client's engine, warm medians. */
      readonly hqcClientMs: number;
      /** (a) ours ÷ Mullvad's, ML-KEM-1024 only. */
      readonly mlkemRatio: number;
      /** (b) ours with HQC-256 ÷ (Mullvad's ML-KEM-1024 figure + hqcClientMs). */
      readonly hqcRatio: number;
      /** (c) ours, switch → verified, median over both of our kinds. */
      readonly verifyMs: number;
      readonly verifySamples: readonly number[];
    };

/** The goals this section is held against. */
export const MULLVAD_LIMITS = Object.freeze({ mlkemRatio: 2, mlkemStretch: 1.5, hqcRatio: 2.5, verifyMs: 100 });

const MLKEM = `(a) start → switched, ML-KEM-1024 only: pqpsk ÷ Mullvad's client ≤ ${MULLVAD_LIMITS.mlkemRatio}×`;
const MLKEM_STRETCH = `(a) the same, stretch goal ≤ ${MULLVAD_LIMITS.mlkemStretch}×`;
const HQC = `(b) start → switched, pqpsk ML-KEM-1024 + HQC-256 ÷ (Mullvad's ML-KEM-1024 + HQC-256 keygen + decaps) ≤ ${MULLVAD_LIMITS.hqcRatio}×`;
const VERIFY = `(c) pqpsk negotiate switch → verified ≤ ${MULLVAD_LIMITS.verifyMs} ms`;

/** Rows, ratios and the verification median from the samples (pure, for the smoke test too). */
export function summarise(runs: number, samples: readonly SideBySideSample[], pollMs: number, hqcClientMs: number): Exclude<MullvadSection, NotMeasured> {
  const rows = CLIENT_KINDS.map((kind): ClientRow => {
    const mine = samples.filter((s) => s.kind === kind);
    const startToSwitchedMs = mine.map((s) => s.startToSwitchedMs);
    const processMs = mine.map((s) => s.processMs);
    const inProcess = mine.flatMap((s) => (s.inProcessMs === null ? [] : [s.inProcessMs]));
    return { kind, startToSwitchedMs, processMs, medianStartToSwitchedMs: medianOf(startToSwitchedMs), medianProcessMs: medianOf(processMs), medianInProcessMs: medianOf(inProcess) };
  });
  const [mullvad, ours, oursHqc] = rows.map((r) => r.medianStartToSwitchedMs) as [number, number, number];
  const verifySamples = samples.flatMap((s) => (s.verifyMs === null ? [] : [s.verifyMs]));
  return {
    measured: true,
    runs,
    rows,
    pollMs,
    hqcClientMs,
    mlkemRatio: ours / mullvad,
    hqcRatio: oursHqc / (mullvad + hqcClientMs),
    verifyMs: medianOf(verifySamples),
    verifySamples,
  };
}

export const mullvadSection: BenchSection<'mullvad'> = {
  key: 'mullvad',
  heading: "8. Mullvad's own client (mullvad-upgrade-tunnel v1.0.5) beside pqpsk negotiate: one bed, one pqpsk server, runs interleaved",
  async measure(ctx) {
    const unavailable = ctx.bedUnavailable("Mullvad's client side by side");
    if (unavailable !== null) return unavailable;
    ctx.say(`Mullvad's client beside ours (${ctx.plan.mullvadRuns} rounds of ${CLIENT_KINDS.length} clients + 1 warm-up round)`);
    const result = await measureClientsSideBySide(ctx.plan.mullvadRuns);
    if (!result.measured) return result;
    if (result.leftovers.length > 0) ctx.say(`WARNING: bed teardown left ${result.leftovers.join(', ')}`);
    const hqc = await measureKem(createClientKems(['HQC-256'])[0]!, ctx.plan.kemIterations['HQC-256']);
    const op = (name: string): number => hqc.find((t) => t.operation === name)?.medianMs ?? Number.NaN;
    return summarise(result.runs, result.samples, result.pollMs, op('keygen') + op('decapsulate'));
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(m) {
    if (!m.measured) return [`   not measured: ${m.reason}`];
    const runs = (xs: readonly number[]): string => xs.map(f0).join(', ');
    return [
      `   start → switched: spawn (through ip netns exec) until \`wg show <if> public-key\` first shows the new key; polls back to back, one poll ≈ ${f1(m.pollMs)} ms`,
      `   ${'client'.padEnd(34)} ${'median ms'.padStart(9)}  ${'each run, ms'.padEnd(33)} ${'spawn → exit'.padStart(12)} ${'in negotiate()'.padStart(14)}`,
      ...m.rows.map((r) => `   ${r.kind.padEnd(34)} ${f0(r.medianStartToSwitchedMs).padStart(9)}  ${runs(r.startToSwitchedMs).padEnd(33)} ${f0(r.medianProcessMs).padStart(12)} ${f0(r.medianInProcessMs).padStart(14)}`),
      '   (medians; "in negotiate()": start → switched by its own --json clock, which starts after node has loaded pqpsk)',
      `   HQC-256 on the client, keygen + decaps (warm medians): ${f1(m.hqcClientMs)} ms`,
      `   (a) ${f1(m.mlkemRatio)}×   (b) ${f1(m.hqcRatio)}×   (c) switch → verified, pqpsk: median ${f0(m.verifyMs)} ms (runs: ${runs(m.verifySamples)})`,
    ];
  },
  targets(m) {
    if (!m.measured) return [MLKEM, MLKEM_STRETCH, HQC].map((t) => unmeasuredTarget(t, '×', m.reason)).concat(unmeasuredTarget(VERIFY, 'ms', m.reason));
    const ratio = (target: string, value: number, limit: number, note: string): TargetLine => ({ target, value, limit, unit: '×', status: statusOf(value, limit, true), note });
    const lines: TargetLine[] = [
      ratio(MLKEM, m.mlkemRatio, MULLVAD_LIMITS.mlkemRatio, 'medians of start → switched'),
      ratio(MLKEM_STRETCH, m.mlkemRatio, MULLVAD_LIMITS.mlkemStretch, ''),
      ratio(HQC, m.hqcRatio, MULLVAD_LIMITS.hqcRatio, 'HQC-256 keygen + decaps at warm speed: a cold start is ours to pay'),
      {
        target: VERIFY,
        value: m.verifyMs,
        limit: MULLVAD_LIMITS.verifyMs,
        unit: 'ms',
        status: statusOf(m.verifyMs, MULLVAD_LIMITS.verifyMs, true),
        note: 'verifyMs of negotiate --json: a new handshake, then a TCP connect to the config service',
      },
    ];
    return lines;
  },
};
