/**
 * HQC-256 on worker threads, for the relay: each operation costs tens of milliseconds of
 * CPU, which must never run on the event loop that serves gRPC. Each worker owns its own
 * instance of the chosen engine (instantiated from one module compiled here and posted
 * to it) and runs
 * one operation at a time; work waits in a FIFO queue whose depth is exposed so the caller
 * can bound it (admission control is the server's business, not the pool's).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkLength, PqpskError } from '../errors.js';
import { createHqc256Kem, HQC_256_SIZES, type HqcBackend } from '../kem/hqc-256.js';
import type { Encapsulation, Kem, KemKeypair } from '../kem/types.js';
import { DEFAULT_HQC_ENGINE, type HqcEngine } from '../kem/registry.js';
import { hqcEngineModule } from '../kem/hqc/hqc-engine.js';
import type { PoolOp, PoolReady, PoolReply, PoolRequest, PoolWorkerData } from './hqc-pool-messages.js';
import type { WasmModule } from '../kem/hqc/webassembly.js';

export interface HqcWorkerPoolOptions {
  /** Number of workers; default os.availableParallelism(). */
  readonly size?: number;
  /** Which HQC-256 build the workers run; default the project's own. */
  readonly engine?: HqcEngine;
  /** The engine's compiled module to share; default hqcEngineModule(engine). */
  readonly module?: WasmModule;
  /** Tests only: run a different worker script (to exercise crash handling). */
  readonly workerScript?: URL;
}

interface Task {
  readonly op: PoolOp;
  readonly inputs: Uint8Array[];
  readonly resolve: (outputs: Uint8Array[]) => void;
  readonly reject: (err: PqpskError) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  /** Work for this worker alone (its warm-up), served before the shared queue. */
  readonly own: Task[];
  ready: boolean;
  task: { readonly id: number; readonly task: Task } | undefined;
  error: unknown;
}

const NAME = 'HQC-256 worker pool';

/**
 * The pool; usable directly as an HqcBackend, or through `kem` (the Kem interface with
 * edge checks). Call close() to stop the workers.
 */
export class HqcWorkerPool implements HqcBackend {
  readonly size: number;
  readonly engine: HqcEngine;
  /** HQC-256 whose operations all run on this pool's workers. */
  readonly kem: Kem;
  readonly #module: WasmModule;
  readonly #script: URL;
  readonly #slots = new Set<Slot>();
  readonly #queue: Task[] = [];
  #nextId = 1;
  #closed = false;
  #broken: PqpskError | undefined;

  constructor(options: HqcWorkerPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1 || size > 256) {
      throw new PqpskError('INVALID_INPUT', `${NAME} size: expected an integer from 1 to 256, got ${String(size)}`);
    }
    this.size = size;
    this.engine = options.engine ?? DEFAULT_HQC_ENGINE;
    this.#module = options.module ?? hqcEngineModule(this.engine);
    this.#script = options.workerScript ?? new URL('./hqc-pool-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) this.#spawn();
    this.kem = createHqc256Kem(this);
  }

  /** Operations waiting for a free worker. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Operations running on a worker right now. */
  get inFlight(): number {
    let n = 0;
    for (const slot of this.#slots) if (slot.task !== undefined) n++;
    return n;
  }

  /** Worker threads that have not exited yet (0 once close() has resolved). */
  get liveWorkers(): number {
    return this.#slots.size;
  }

  async keypair(): Promise<KemKeypair> {
    const [publicKey, secretKey] = await this.#submit('keygen', []);
    return { publicKey: publicKey!, secretKey: secretKey! };
  }

  async encapsulate(publicKey: Uint8Array): Promise<Encapsulation> {
    checkLength('HQC-256 public key', publicKey, HQC_256_SIZES.publicKey);
    const [ciphertext, sharedSecret] = await this.#submit('encapsulate', [ownCopy(publicKey)]);
    return { ciphertext: ciphertext!, sharedSecret: sharedSecret! };
  }

  async decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
    checkLength('HQC-256 ciphertext', ciphertext, HQC_256_SIZES.ciphertext);
    checkLength('HQC-256 secret key', secretKey, HQC_256_SIZES.secretKey);
    const [sharedSecret] = await this.#submit('decapsulate', [ownCopy(ciphertext), ownCopy(secretKey)]);
    return sharedSecret!;
  }

  /**
   * Warm every worker: each runs HQC-256 until its code is optimised (pool-worker.ts), so
   * the first registrations cost what later ones do. Resolves once all have. A worker
   * respawned after a crash starts cold again.
   */
  async warm(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return;
    await Promise.all(
      [...this.#slots].map(
        (slot) =>
          new Promise<Uint8Array[]>((resolve, reject) => {
            slot.own.push({ op: 'warm', inputs: [], resolve, reject });
            this.#pump();
          }),
      ),
    );
  }

  /**
   * Stop every worker. Queued and running operations are rejected (RESOURCE_EXHAUSTED:
   * the pool is gone); resolves once every thread has exited. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#rejectQueue(() => new PqpskError('RESOURCE_EXHAUSTED', `${NAME} is closed`));
    const exits = [...this.#slots].map((slot) => {
      void slot.worker.terminate();
      return slot.exited;
    });
    await Promise.all(exits);
  }

  #submit(op: PoolOp, inputs: Uint8Array[]): Promise<Uint8Array[]> {
    const refusal = this.#closed ? new PqpskError('RESOURCE_EXHAUSTED', `${NAME} is closed`) : this.#broken;
    if (refusal !== undefined) {
      for (const input of inputs) input.fill(0);
      return Promise.reject(refusal);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, inputs, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (!slot.ready || slot.task !== undefined) continue;
      const task = slot.own.shift() ?? this.#queue.shift();
      if (task === undefined) continue;
      const id = this.#nextId++;
      slot.task = { id, task };
      const request: PoolRequest = { id, op: task.op, inputs: task.inputs };
      // Transfer: the copies we made move to the worker (which zeroes them after use).
      slot.worker.postMessage(request, task.inputs.map((b) => b.buffer as ArrayBuffer));
    }
  }

  #spawn(): void {
    const data: PoolWorkerData = { module: this.#module, engine: this.engine };
    const worker = new Worker(this.#script, { workerData: data });
    let markExited!: () => void;
    const slot: Slot = {
      worker,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
      own: [],
      ready: false,
      task: undefined,
      error: undefined,
    };
    this.#slots.add(slot);
    worker.on('message', (message: PoolReply | PoolReady) => this.#onMessage(slot, message));
    worker.on('error', (err) => {
      slot.error = err;
    });
    worker.on('exit', (code) => {
      this.#onExit(slot, code);
      markExited();
    });
  }

  #onMessage(slot: Slot, message: PoolReply | PoolReady): void {
    if ('ready' in message) {
      slot.ready = true;
      this.#pump();
      return;
    }
    const current = slot.task;
    if (current === undefined || current.id !== message.id) return;
    slot.task = undefined;
    if (message.ok) current.task.resolve(message.outputs);
    else current.task.reject(new PqpskError(message.code, message.message));
    this.#pump();
  }

  #onExit(slot: Slot, code: number): void {
    this.#slots.delete(slot);
    const running = slot.task;
    slot.task = undefined;
    for (const task of slot.own.splice(0)) task.reject(new PqpskError('RESOURCE_EXHAUSTED', `${NAME}: the worker exited before its warm-up`));
    if (this.#closed || this.#broken !== undefined) {
      running?.task.reject(this.#broken ?? new PqpskError('RESOURCE_EXHAUSTED', `${NAME} is closed`));
      return;
    }
    running?.task.reject(new PqpskError('INTERNAL', `HQC-256 worker exited unexpectedly (code ${code})`));
    if (!slot.ready) {
      // It died before its instance existed: a set-up fault that a respawn would repeat.
      this.#broken = new PqpskError('SETUP', `HQC-256 worker failed to start (exit code ${code})`, {
        cause: slot.error,
      });
      const broken = this.#broken;
      this.#rejectQueue(() => broken);
      for (const other of this.#slots) void other.worker.terminate();
      return;
    }
    this.#spawn();
  }

  #rejectQueue(error: () => PqpskError): void {
    for (const task of this.#queue.splice(0)) {
      for (const input of task.inputs) input.fill(0);
      task.reject(error());
    }
  }
}

/** Start a pool (see HqcWorkerPool); close() it when done. */
export function createHqcWorkerPool(options: HqcWorkerPoolOptions = {}): HqcWorkerPool {
  return new HqcWorkerPool(options);
}

/**
 * A copy in a fresh ArrayBuffer of exactly its size, safe to transfer to a worker. Not
 * `.slice()`: on a Buffer that is a view, and transferring its ArrayBuffer would detach
 * everything else living in it (the rest of a decoded gRPC request, or Node's shared
 * Buffer pool).
 */
function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
