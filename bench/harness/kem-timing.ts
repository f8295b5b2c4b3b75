/**
 * Per-operation timings of a KEM on this machine, and of the two pqpsk runs by default:
 * ML-KEM-1024 (noble, pure JS) and HQC-256 (our WebAssembly build, in-thread). Figures
 * are printed, never asserted (timings belong in benchmarks, not tests).
 */
import { performance } from 'node:perf_hooks';
import { referenceMcElieceBackend } from '../../src/client/mceliece.js';
import { createClassicMcEliece460896f } from '../../src/kem/classic-mceliece-460896f.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { Kem } from '../../src/kem/types.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { medianOf, percentileOf } from './stats.js';

/** The three operations of a KEM, as timed here. */
export type KemOperation = 'keygen' | 'encapsulate' | 'decapsulate';

/** One KEM operation's summary over `iterations` rounds. */
export interface OperationTiming {
  readonly kem: string;
  readonly operation: KemOperation;
  readonly iterations: number;
  readonly medianMs: number;
  readonly p90Ms: number;
}

/**
 * Time `iterations` rounds of keygen → encapsulate → decapsulate (after `warmup` untimed
 * rounds) and summarise each operation by median and 90th percentile. Every round checks
 * that both sides agree, so a broken KEM cannot produce a flattering figure.
 */
export async function measureKem(kem: Kem, iterations: number, warmup = 2): Promise<OperationTiming[]> {
  return measureSideBySide([{ kem, label: kem.name }], iterations, warmup);
}

/**
 * Like measureKem for several KEMs at once, their rounds interleaved (one round of each in
 * turn), so that load from elsewhere on a shared machine weighs on all of them alike.
 * Each result row carries its entry's `label` as `kem`.
 */
export async function measureSideBySide(
  entries: readonly { readonly kem: Kem; readonly label: string }[],
  iterations: number,
  warmup = 2,
): Promise<OperationTiming[]> {
  const samples = entries.map((): Record<KemOperation, number[]> => ({ keygen: [], encapsulate: [], decapsulate: [] }));
  for (let round = 0; round < warmup + iterations; round++) {
    for (const [i, { kem }] of entries.entries()) {
      const t0 = performance.now();
      const { publicKey, secretKey } = await kem.keygen();
      const t1 = performance.now();
      const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
      const t2 = performance.now();
      const decapsulated = await kem.decapsulate(ciphertext, secretKey);
      const t3 = performance.now();
      const agree = Buffer.from(decapsulated).equals(Buffer.from(sharedSecret));
      secretKey.fill(0);
      sharedSecret.fill(0);
      decapsulated.fill(0);
      if (!agree) throw new Error(`${kem.name}: decapsulation disagrees with encapsulation`);
      if (round < warmup) continue;
      samples[i]!.keygen.push(t1 - t0);
      samples[i]!.encapsulate.push(t2 - t1);
      samples[i]!.decapsulate.push(t3 - t2);
    }
  }
  return entries.flatMap(({ label }, i) =>
    (Object.keys(samples[i]!) as KemOperation[]).map((operation) => ({
      kem: label,
      operation,
      iterations,
      medianMs: medianOf(samples[i]![operation]),
      p90Ms: percentileOf(samples[i]![operation], 0.9),
    })),
  );
}

/**
 * Both KEMs as pqpsk runs them, `iterations` rounds each; HQC-256 interleaved with the
 * pqclean package's build (labelled `HQC-256 pqclean`), for the side-by-side comparison.
 */
export async function measureAllKems(iterations: {
  readonly 'ML-KEM-1024': number;
  readonly 'HQC-256': number;
  readonly 'Classic-McEliece-460896f-round3': number;
}): Promise<OperationTiming[]> {
  return [
    ...(await measureKem(createMlKem1024(), iterations['ML-KEM-1024'])),
    // Encapsulation is pqpsk's own; keygen and decapsulation the reference code the client uses.
    ...(await measureKem(createClassicMcEliece460896f({ backend: referenceMcElieceBackend }), iterations['Classic-McEliece-460896f-round3'], 1)),
    ...(await measureSideBySide(
      [
        { kem: createInThreadHqc256Kem(), label: 'HQC-256' },
        { kem: createInThreadHqc256Kem({ engine: 'pqclean' }), label: 'HQC-256 pqclean' },
      ],
      iterations['HQC-256'],
    )),
  ];
}

/** A fixed-width table of timings, one line per KEM and operation. */
export function formatTimings(timings: readonly OperationTiming[]): string {
  const width = Math.max(12, ...timings.map((t) => t.kem.length));
  const lines = [
    `${'KEM'.padEnd(width)} ${'operation'.padEnd(12)} ${'n'.padStart(4)} ${'median ms'.padStart(10)} ${'p90 ms'.padStart(9)}`,
  ];
  for (const t of timings) {
    lines.push(
      `${t.kem.padEnd(width)} ${t.operation.padEnd(12)} ${String(t.iterations).padStart(4)} ` +
        `${t.medianMs.toFixed(2).padStart(10)} ${t.p90Ms.toFixed(2).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
