/**
 * Section 1: every KEM operation timed warm and in-thread; HQC-256 on the project's own
 * WebAssembly build (what pqpsk runs) side by side with the pqclean package's build and,
 * where a C compiler is present, PQClean's C compiled natively at -O3; and PQClean's
 * native addon as a reference where it is installed.
 */
import { formatTimings, measureAllKems, type KemOperation, type OperationTiming } from '../harness/kem-timing.js';
import { measureNativeHqc, type NativeHqc } from '../harness/native-hqc.js';
import { measureNativePqclean, type NativeReference } from '../harness/native.js';
import { statusOf, type BenchSection, type TargetLine } from '../section.js';

/** The KEM timings of this run. */
export interface KemSection {
  /**
   * ML-KEM-1024 and HQC-256 as pqpsk runs them (HQC-256 on the default engine), and
   * `HQC-256 pqclean`: the pqclean package's build, measured interleaved with ours.
   */
  readonly timings: readonly OperationTiming[];
  /** HQC-256 from PQClean's C at -O3, natively. */
  readonly nativeHqc: NativeHqc;
  readonly native: NativeReference;
}

const OPERATIONS: readonly KemOperation[] = ['keygen', 'encapsulate', 'decapsulate'];
/** The project's HQC-256 must be this many times faster than pqclean's WebAssembly… */
const SPEEDUP_GOAL = 6;
/** …and aims at this. */
const SPEEDUP_STRETCH = 10;

function medianOf(timings: readonly OperationTiming[], kem: string, operation: KemOperation): number | null {
  return timings.find((t) => t.kem === kem && t.operation === operation)?.medianMs ?? null;
}

function speedups(s: KemSection): { operation: KemOperation; ours: number | null; reference: number | null; ratio: number | null }[] {
  return OPERATIONS.map((operation) => {
    const ours = medianOf(s.timings, 'HQC-256', operation);
    const reference = medianOf(s.timings, 'HQC-256 pqclean', operation);
    return { operation, ours, reference, ratio: ours !== null && reference !== null && ours > 0 ? reference / ours : null };
  });
}

export const kemSection: BenchSection<'kem'> = {
  key: 'kem',
  heading: '1. KEM operations (warm, in-thread; ML-KEM-1024 noble, HQC-256 our WebAssembly build)',
  async measure(ctx) {
    ctx.say('KEM operations');
    const timings = await measureAllKems(ctx.plan.kemIterations);
    ctx.say('HQC-256 natively');
    const nativeHqc = await measureNativeHqc(ctx.plan.kemIterations['HQC-256']);
    const native = await measureNativePqclean(ctx.plan.kemIterations);
    return { timings, nativeHqc, native };
  },
  skipped: (reason) => ({ timings: [], nativeHqc: { measured: false, reason }, native: { installed: false, reason } }),
  format(s) {
    const out = [formatTimings(s.timings)];
    const native = s.nativeHqc.measured ? s.nativeHqc.timings : [];
    out.push(
      '',
      'HQC-256 median ms   ours (pqpsk)   pqclean WASM   speed-up   PQClean native -O3',
      ...speedups(s).map(({ operation, ours, reference, ratio }) => {
        const nat = medianOf(native, 'HQC-256 native -O3', operation);
        return (
          `${operation.padEnd(17)} ${fixed(ours, 2).padStart(14)} ${fixed(reference, 2).padStart(14)} ` +
          `${(ratio === null ? '—' : `${ratio.toFixed(1)}×`).padStart(10)} ${fixed(nat, 2).padStart(20)}`
        );
      }),
    );
    if (s.nativeHqc.measured) out.push(`(native: the pqclean package's C sources, ${s.nativeHqc.compiler} -O3)`);
    else out.push(`PQClean native -O3: not measured — ${s.nativeHqc.reason}`);
    if (s.native.installed) out.push('pqclean native addon (reference only):', formatTimings(s.native.timings));
    else out.push(`pqclean native addon: not installed — ${s.native.reason}`);
    return out;
  },
  targets: (s) =>
    speedups(s).map(({ operation, ratio }): TargetLine => ({
      target: `HQC-256 ${operation}: our build vs pqclean's WebAssembly ≥ ${SPEEDUP_GOAL}× faster`,
      value: ratio,
      limit: SPEEDUP_GOAL,
      unit: '×',
      status: statusOf(ratio, SPEEDUP_GOAL, false),
      note: ratio === null ? 'not measured' : `stretch ≥ ${SPEEDUP_STRETCH}×: ${ratio >= SPEEDUP_STRETCH ? 'met' : 'missed'}`,
    })),
};

function fixed(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}
