/**
 * One worker of the HQC-256 pool (pool.ts): owns its own engine instance (own memory,
 * node:crypto randomness) and serves one request at a time. Inputs arrive in buffers
 * transferred to us and are zeroed after use; outputs leave in fresh buffers that are
 * transferred back, so no copy of a secret stays behind in this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isPqpskError } from '../errors.js';
import type { SyncHqcBackend } from '../kem/hqc-256.js';
import { Hqc256Wasm } from '../kem/hqc/hqc256-wasm.js';
import type { PoolReply, PoolRequest, PoolWorkerData } from './hqc-pool-messages.js';

const port = parentPort;
if (port === null) throw new Error('pool-worker.ts must run as a worker thread');

const { module, engine } = workerData as PoolWorkerData;
// Only the engine asked for is loaded (not hqc-engine.ts, whose KEM registry brings
// ML-KEM and McEliece along): each worker is an isolate of its own, so every module it
// loads is paid for once per core, for the relay's whole life.
const hqc: SyncHqcBackend =
  engine === 'pqclean' ? await import('../kem/hqc/pqclean.js').then(({ hqcBackendOf, PqcleanWasm }) => hqcBackendOf(PqcleanWasm.instantiate({ module }))) : Hqc256Wasm.instantiate({ module });

/** Rounds of keygen + encapsulation + decapsulation a warm-up runs at least, and at most. */
const WARM_MIN_ROUNDS = 4;
const WARM_MAX_ROUNDS = 30;

/**
 * Run the engine until encapsulation costs what it will in service. V8 compiles a
 * WebAssembly function first with its baseline compiler and swaps in the optimised code
 * only once the function has run a while (compiled in the background): the first
 * encapsulation on a fresh worker took 27 ms against 2 ms later. Stops once the last three
 * encapsulations are within 25 % of the fastest seen. Fresh keys each round; every secret
 * is zeroed.
 */
function warm(engine: SyncHqcBackend): void {
  // Replies transfer their buffers, and the first detach in a thread throws away V8's
  // optimised typed-array code: have it now, not at the first real call.
  const detached = new ArrayBuffer(8);
  structuredClone(detached, { transfer: [detached] });
  const times: number[] = [];
  for (let round = 0; round < WARM_MAX_ROUNDS; round++) {
    const { publicKey, secretKey } = engine.keypair();
    const started = performance.now();
    const { ciphertext, sharedSecret } = engine.encapsulate(publicKey);
    times.push(performance.now() - started);
    engine.decapsulate(ciphertext, secretKey).fill(0);
    sharedSecret.fill(0);
    secretKey.fill(0);
    const best = Math.min(...times);
    if (round + 1 >= WARM_MIN_ROUNDS && times.slice(-3).every((t) => t <= best * 1.25)) return;
  }
}

port.on('message', (request: PoolRequest) => {
  let reply: PoolReply;
  let transfer: ArrayBuffer[] = [];
  try {
    switch (request.op) {
      case 'keygen': {
        const { publicKey, secretKey } = hqc.keypair();
        reply = { id: request.id, ok: true, outputs: [publicKey, secretKey] };
        transfer = [publicKey.buffer as ArrayBuffer, secretKey.buffer as ArrayBuffer];
        break;
      }
      case 'encapsulate': {
        const [publicKey] = request.inputs;
        const { ciphertext, sharedSecret } = hqc.encapsulate(publicKey!);
        reply = { id: request.id, ok: true, outputs: [ciphertext, sharedSecret] };
        transfer = [ciphertext.buffer as ArrayBuffer, sharedSecret.buffer as ArrayBuffer];
        break;
      }
      case 'warm': {
        warm(hqc);
        reply = { id: request.id, ok: true, outputs: [] };
        break;
      }
      case 'decapsulate': {
        const [ciphertext, secretKey] = request.inputs;
        const sharedSecret = hqc.decapsulate(ciphertext!, secretKey!);
        reply = { id: request.id, ok: true, outputs: [sharedSecret] };
        transfer = [sharedSecret.buffer as ArrayBuffer];
        break;
      }
    }
  } catch (err) {
    // Our own messages carry no secrets; anything else is reduced to a fixed text.
    reply = isPqpskError(err)
      ? { id: request.id, ok: false, code: err.code, message: err.message }
      : { id: request.id, ok: false, code: 'INTERNAL', message: 'HQC-256 worker: unexpected failure' };
  } finally {
    for (const input of request.inputs) input.fill(0);
  }
  port.postMessage(reply, transfer);
});

port.postMessage({ ready: true });
