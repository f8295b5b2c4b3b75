/** The messages between pool.ts and pool-worker.ts (structured-cloned, buffers transferred). */
import type { PqpskErrorCode } from '../errors.js';
import type { HqcEngine } from '../kem/registry.js';
import type { WasmModule } from '../kem/hqc/webassembly.js';

export interface PoolWorkerData {
  readonly module: WasmModule;
  readonly engine: HqcEngine;
}

/** `warm`: run the engine until its code is optimised (pool-worker.ts); no inputs, no outputs. */
export type PoolOp = 'keygen' | 'encapsulate' | 'decapsulate' | 'warm';

export interface PoolRequest {
  readonly id: number;
  readonly op: PoolOp;
  /** encapsulate: [publicKey]; decapsulate: [ciphertext, secretKey]; keygen, warm: []. */
  readonly inputs: Uint8Array[];
}

export type PoolReply =
  | { readonly id: number; readonly ok: true; readonly outputs: Uint8Array[] }
  | { readonly id: number; readonly ok: false; readonly code: PqpskErrorCode; readonly message: string };

/** Sent once the worker's instance exists; only then does it get work. */
export interface PoolReady {
  readonly ready: true;
}
