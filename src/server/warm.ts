/**
 * The relay's KEMs warmed before it opens to calls. A fresh process runs JavaScript in
 * V8's interpreter and WebAssembly from its baseline compiler; the optimised code comes
 * only after a function has run a while. Unwarmed, the first registrations paid for that:
 * HQC-256's first encapsulation on a worker took 27 ms against 2 ms later, and ML-KEM-1024's
 * first ones tens of milliseconds against one. Here each KEM runs until it is fast, on
 * every HQC-256 worker and on the event loop for the in-thread KEMs, while the relay
 * opens — so a client calling the moment the port accepts meets a warm relay.
 */
import type { Kem } from '../kem/types.js';

/** Encapsulations an in-thread KEM runs at least, and at most, to reach its optimised code. */
const IN_THREAD_MIN_ROUNDS = 8;
const IN_THREAD_MAX_ROUNDS = 60;

/** What is warmed: the worker pool (HQC-256) and the KEMs that run on the event loop. */
export interface WarmTargets {
  readonly pool?: { warm(): Promise<void> };
  /** ML-KEM-1024: a key is generated once and encapsulated to. */
  readonly mlKem?: Kem;
  /** Classic McEliece: encapsulation only (the relay cannot generate its keys cheaply); any key of the right size is a usable matrix, so an all-zero one is used. */
  readonly mcEliece?: Kem;
}

/**
 * Warm everything in `targets`; resolves once all are warm. The in-thread KEMs yield to
 * the event loop between rounds, so the relay's own opening (reading the interface) goes
 * on meanwhile. No secret outlives a round: shared secrets are zeroed at once.
 */
export async function warmKems(targets: WarmTargets): Promise<void> {
  // Both at once; a failure of either is the caller's from the start (never unhandled).
  await Promise.all([targets.pool?.warm(), warmInThread(targets)]);
}

async function warmInThread(targets: WarmTargets): Promise<void> {
  detachOnce();
  // Let the caller bind its ports first: the first in-thread rounds block for a while.
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (targets.mlKem !== undefined) {
    const { publicKey, secretKey } = await targets.mlKem.keygen();
    secretKey.fill(0);
    await warmEncapsulation(targets.mlKem, publicKey);
  }
  if (targets.mcEliece !== undefined) await warmEncapsulation(targets.mcEliece, new Uint8Array(targets.mcEliece.sizes.publicKey));
}

/**
 * Encapsulate to `publicKey` until the last three are within 25 % of the fastest, between
 * the round bounds. The rounds pass the key in turn as a plain array, as a Buffer and as a
 * view at an odd offset — the forms a key cut out of a decoded request takes — so the
 * optimised code covers them all; warmed with one form only, V8 threw its optimised
 * hashing code away at the first real request (a deoptimisation for want of feedback).
 */
async function warmEncapsulation(kem: Kem, publicKey: Uint8Array): Promise<void> {
  const times: number[] = [];
  const unaligned = new Uint8Array(new ArrayBuffer(publicKey.length + 1), 1, publicKey.length);
  unaligned.set(publicKey);
  const forms = [publicKey, Buffer.from(publicKey), unaligned];
  for (let round = 0; round < IN_THREAD_MAX_ROUNDS; round++) {
    const started = performance.now();
    const { sharedSecret } = await kem.encapsulate(forms[round % forms.length]!);
    times.push(performance.now() - started);
    sharedSecret.fill(0);
    const best = Math.min(...times);
    if (round + 1 >= IN_THREAD_MIN_ROUNDS && times.slice(-3).every((t) => t <= best * 1.25)) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Detach one throwaway buffer, as the worker pool does with every input it hands over by
 * transfer. The first detach in a thread makes V8 throw away every optimised function that
 * touches typed arrays (it had assumed no buffer would ever be detached): unless it happens
 * before the warm-up, the first real HQC-256 call undoes the in-thread KEMs' warm-up, and
 * the next ML-KEM-1024 encapsulation took 190 ms.
 */
function detachOnce(): void {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}
