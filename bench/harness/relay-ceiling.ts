/**
 * The ceiling a relay row is held against: the same load (the same load thread, a fresh
 * connection per call, the same ML-KEM-1024 + HQC-256 requests) against a server on
 * src/rpc whose handler does only the KEM work of a registration — ML-KEM-1024 in-thread
 * and HQC-256 on a worker pool of the same size, through the relay's own KEM step
 * (src/server/encapsulate.ts) — and answers with the ciphertexts. No validation, no
 * authentication, no book, no `wg`, no watcher. What the relay adds on top of this is
 * what its throughput goal measures.
 */
import type { WireRegisterRequest } from '../../src/protocol/messages.js';
import { MAX_REQUEST_BYTES } from '../../src/protocol/request.js';
import { startRpcServer } from '../../src/rpc/server.js';
import { encapsulateAll } from '../../src/server/encapsulate.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { Kem, KemName } from '../../src/kem/types.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { createHqcWorkerPool } from '../../src/server/hqc-pool.js';
import { cpuPerCall, LOAD_ROLE, runLoadThread, type LoadData, type ProcessWindow } from './relay-load.js';

export interface CeilingResult {
  readonly clients: number;
  readonly workers: number;
  readonly callsPerSecond: number;
  /** CPU of the server alone (its thread, the HQC workers, Node's helpers) per call, ms; null where the load thread's clock is unknown. */
  readonly serverMsPerCall: number | null;
  /** CPU of the whole process (server and load thread) per call, ms. */
  readonly processMsPerCall: number;
  readonly failures: Readonly<Record<string, number>>;
}

export async function measureCeiling(options: { readonly clients: number; readonly workers: number; readonly seconds: number; readonly warmupSeconds: number }): Promise<CeilingResult> {
  const mlKem = createMlKem1024();
  const pool = createHqcWorkerPool({ size: options.workers });
  const byName: Partial<Record<KemName, Kem>> = { 'ML-KEM-1024': mlKem, 'HQC-256': pool.kem };
  const server = await startRpcServer(
    '127.0.0.1:0',
    async (request) => {
      const offered = (request as WireRegisterRequest).post_quantum?.kem_pubkeys ?? [];
      const result = await encapsulateAll(
        offered.map((k) => ({ name: k.algorithm_name as KemName, publicKey: k.key_data })),
        (name) => byName[name]!,
      );
      result.psk.wipe();
      return { post_quantum: { ciphertexts: [...result.ciphertexts] } };
    },
    { maxRequestBytes: MAX_REQUEST_BYTES, limits: { maxConnectionsPerSource: Math.max(4, options.clients * 2) } },
  );
  try {
    await pool.warm();
    const pairs = [await mlKem.keygen(), await createInThreadHqc256Kem().keygen()];
    for (const p of pairs) p.secretKey.fill(0);
    const data: LoadData = {
      role: LOAD_ROLE,
      target: server.address,
      healthz: null,
      parent: new Uint8Array(32).fill(7),
      kems: [
        { name: 'ML-KEM-1024', publicKey: pairs[0]!.publicKey },
        { name: 'HQC-256', publicKey: pairs[1]!.publicKey },
      ],
      clients: options.clients,
      warmupMs: options.warmupSeconds * 1000,
      measureMs: options.seconds * 1000,
      probeIntervalMs: 0,
    };
    let from: { cpu: NodeJS.CpuUsage; at: number } | undefined;
    let window: ProcessWindow | undefined;
    const result = await runLoadThread(
      data,
      () => (from = { cpu: process.cpuUsage(), at: performance.now() }),
      () => {
        const cpu = process.cpuUsage(from?.cpu);
        window = { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - (from?.at ?? 0) };
      },
    );
    const perCall = window === undefined ? null : cpuPerCall(window, result);
    return {
      clients: options.clients,
      workers: options.workers,
      callsPerSecond: result.completed / (result.measuredMs / 1000),
      serverMsPerCall: perCall?.serverMs ?? null,
      processMsPerCall: perCall?.processMs ?? Number.NaN,
      failures: result.failures,
    };
  } finally {
    server.forceShutdown();
    await pool.close();
  }
}
