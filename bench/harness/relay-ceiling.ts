/**
 * The most any relay built on this stack could register per second on this machine: the
 * load of the throughput rows (the same load thread, a fresh connection per call, the same
 * ML-KEM-1024 + HQC-256 requests) against a server on src/rpc whose handler does only what
 * every registration must do besides HQC-256 — the gRPC call and the ML-KEM-1024
 * encapsulation — and answers with an HQC-256-sized ciphertext of random bytes. No HQC
 * work, no `wg`, no book, no authentication.
 *
 * Why it bounds the throughput ratio: while the cores are the limit, a registration costs
 * this row's CPU per call plus one HQC-256 encapsulation (see ratioCeiling).
 */
import { randomBytes } from 'node:crypto';
import { HQC_256_SIZES } from '../../src/kem/hqc-256.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { WireRegisterRequest } from '../../src/protocol/messages.js';
import { MAX_REQUEST_BYTES } from '../../src/protocol/request.js';
import { startRpcServer } from '../../src/rpc/server.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { LOAD_ROLE, runLoadThread, type LoadData } from './relay-load.js';

export interface CeilingResult {
  readonly clients: number;
  readonly callsPerSecond: number;
  /** CPU of the whole process (server, load thread) per call, ms. */
  readonly cpuMsPerCall: number;
  /** Cores the process kept busy on average (the bound holds while this is all of them). */
  readonly coresBusy: number;
  readonly failures: Readonly<Record<string, number>>;
}

/**
 * The bound on registrations ÷ raw HQC-256 encapsulations that `callsPerSecond` implies
 * for a row whose raw figure came from `workers` workers on `cores` cores: a registration
 * costs cores ÷ calls of CPU here plus workers ÷ raw on a worker, so registrations/s ≤
 * cores ÷ (cores ÷ calls + workers ÷ raw), which is calls ÷ (calls + raw) when every core
 * has a worker.
 */
export function ratioCeiling(callsPerSecond: number, rawPerSecond: number, workers: number, cores: number): number {
  return 1 / (rawPerSecond / callsPerSecond + workers / cores);
}

export async function measureCeiling(options: { readonly clients: number; readonly seconds: number; readonly warmupSeconds: number }): Promise<CeilingResult> {
  const mlKem = createMlKem1024();
  const hqcCiphertext = randomBytes(HQC_256_SIZES.ciphertext);
  const server = await startRpcServer(
    '127.0.0.1:0',
    async (request) => {
      const offered = (request as WireRegisterRequest).post_quantum?.kem_pubkeys ?? [];
      const ciphertexts: Uint8Array[] = [];
      for (const key of offered) {
        if (key.algorithm_name !== 'ML-KEM-1024') {
          ciphertexts.push(hqcCiphertext);
          continue;
        }
        const { ciphertext, sharedSecret } = await mlKem.encapsulate(key.key_data);
        sharedSecret.fill(0);
        ciphertexts.push(ciphertext);
      }
      return { post_quantum: { ciphertexts } };
    },
    { maxRequestBytes: MAX_REQUEST_BYTES, limits: { maxConnectionsPerSource: Math.max(4, options.clients * 2) } },
  );
  const pairs = [await mlKem.keygen(), await createInThreadHqc256Kem().keygen()];
  try {
    const data: LoadData = {
      role: LOAD_ROLE,
      target: server.address,
      healthz: null,
      parent: randomBytes(32),
      kems: [
        { name: 'ML-KEM-1024', publicKey: pairs[0]!.publicKey },
        { name: 'HQC-256', publicKey: pairs[1]!.publicKey },
      ],
      clients: options.clients,
      warmupMs: options.warmupSeconds * 1000,
      measureMs: options.seconds * 1000,
      probeIntervalMs: 0,
    };
    let from: NodeJS.CpuUsage | undefined;
    const result = await runLoadThread(data, () => (from = process.cpuUsage()));
    const cpu = process.cpuUsage(from);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
      clients: options.clients,
      callsPerSecond: result.completed / (result.measuredMs / 1000),
      cpuMsPerCall: cpuMs / Math.max(1, result.completed),
      coresBusy: cpuMs / result.measuredMs,
      failures: result.failures,
    };
  } finally {
    for (const p of pairs) p.secretKey.fill(0);
    server.forceShutdown();
  }
}
