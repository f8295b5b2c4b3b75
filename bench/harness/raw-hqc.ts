/**
 * The ceiling the relay is measured against: HQC-256 encapsulations per second on the
 * production worker pool (wasm/pool.ts) with nothing else running, `concurrency`
 * operations kept in flight. The relay cannot register faster than its pool encapsulates,
 * so "registrations/s ÷ raw encapsulations/s on the same workers" is the relay's
 * efficiency.
 */
import { performance } from 'node:perf_hooks';
import type { HqcEngine } from '../../src/kem/registry.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { createHqcWorkerPool } from '../../src/server/hqc-pool.js';

/** Completed encapsulations inside the measured window. */
export interface RawHqcResult {
  readonly workers: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly encapsulations: number;
  readonly perSecond: number;
}

/** Encapsulate to one public key in a loop for `seconds` after `warmupSeconds`, counting completions. */
export async function measureRawHqc(options: {
  workers: number;
  concurrency: number;
  seconds: number;
  warmupSeconds?: number;
  /** The pool's engine; default the relay's default. */
  engine?: HqcEngine;
}): Promise<RawHqcResult> {
  const keys = await createInThreadHqc256Kem().keygen();
  keys.secretKey.fill(0);
  const pool = createHqcWorkerPool({ size: options.workers, ...(options.engine === undefined ? {} : { engine: options.engine }) });
  try {
    // Workers start asynchronously: one operation per worker before the clock starts.
    await Promise.all(Array.from({ length: options.workers }, () => pool.kem.encapsulate(keys.publicKey).then((e) => e.sharedSecret.fill(0))));
    const start = performance.now();
    const from = start + (options.warmupSeconds ?? 0.3) * 1000;
    const end = from + options.seconds * 1000;
    let counted = 0;
    const loop = async (): Promise<void> => {
      while (performance.now() < end) {
        const { sharedSecret } = await pool.kem.encapsulate(keys.publicKey);
        sharedSecret.fill(0);
        // Throughput counts completions inside the window, wherever the operation began.
        const t1 = performance.now();
        if (t1 >= from && t1 <= end) counted++;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, loop));
    return { workers: options.workers, concurrency: options.concurrency, seconds: options.seconds, encapsulations: counted, perSecond: counted / options.seconds };
  } finally {
    await pool.close();
  }
}
