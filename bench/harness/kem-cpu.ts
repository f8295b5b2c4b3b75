/**
 * The CPU a registration's KEM work costs by itself: one ML-KEM-1024 encapsulation (noble,
 * in-thread, as the relay runs it) and one HQC-256 encapsulation (the engine the relay's
 * workers run, here in-thread so the thread's own CPU clock times it), each warmed first.
 * The throughput section measures it beside every relay row, so the relay's CPU per
 * registration is held against KEM work timed on the same machine at the same moment.
 */
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { Kem } from '../../src/kem/types.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { threadCpuMs } from './thread-cpu.js';

/** CPU per encapsulation, ms (median of a few timed batches). */
export interface KemCpu {
  readonly mlKemMs: number;
  readonly hqcMs: number;
  /** ML-KEM-1024 + HQC-256: the KEM work of one registration. */
  readonly totalMs: number;
}

/** Time `iterations` encapsulations of each KEM, in batches, after a warm-up. */
export async function measureKemCpu(iterations: { readonly mlKem: number; readonly hqc: number }): Promise<KemCpu> {
  const mlKemMs = await perEncapsulation(createMlKem1024(), iterations.mlKem);
  const hqcMs = await perEncapsulation(createInThreadHqc256Kem(), iterations.hqc);
  return { mlKemMs, hqcMs, totalMs: mlKemMs + hqcMs };
}

const BATCHES = 5;

async function perEncapsulation(kem: Kem, iterations: number): Promise<number> {
  const keys = await kem.keygen();
  keys.secretKey.fill(0);
  const once = async (): Promise<void> => {
    (await kem.encapsulate(keys.publicKey)).sharedSecret.fill(0);
  };
  for (let i = 0; i < Math.max(5, iterations / 4); i++) await once();
  const perBatch = Math.max(1, Math.round(iterations / BATCHES));
  const batches: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const thread = threadCpuMs();
    const process0 = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) await once();
    const used = process.cpuUsage(process0);
    const threadUsed = thread === null ? null : threadCpuMs()! - thread;
    // Nothing else of this process runs meanwhile; the thread's clock leaves out even its idle helpers.
    batches.push((threadUsed ?? (used.user + used.system) / 1000) / perBatch);
  }
  batches.sort((a, b) => a - b);
  return batches[Math.floor(BATCHES / 2)]!;
}
