/**
 * Section 1: every KEM operation timed warm and in-thread, and PQClean's native addon as a
 * reference where it is installed.
 */
import { formatTimings, measureAllKems, type OperationTiming } from '../harness/kem-timing.js';
import { measureNativePqclean, type NativeReference } from '../harness/native.js';
import type { BenchSection } from '../section.js';

/** The KEM timings of this run. */
export interface KemSection {
  readonly timings: readonly OperationTiming[];
  readonly native: NativeReference;
}

export const kemSection: BenchSection<'kem'> = {
  key: 'kem',
  heading: '1. KEM operations (warm, in-thread; ML-KEM-1024 noble, HQC-256 our WebAssembly loader)',
  async measure(ctx) {
    ctx.say('KEM operations');
    const timings = await measureAllKems(ctx.plan.kemIterations);
    const native = await measureNativePqclean(ctx.plan.kemIterations);
    return { timings, native };
  },
  skipped: (reason) => ({ timings: [], native: { installed: false, reason } }),
  format(s) {
    const out = [formatTimings(s.timings)];
    if (s.native.installed) out.push('pqclean native addon (reference only):', formatTimings(s.native.timings));
    else out.push(`pqclean native addon: not installed — ${s.native.reason}`);
    return out;
  },
  targets: () => [],
};
