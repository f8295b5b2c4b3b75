/**
 * The relay's KEM step: encapsulate to each public key of a request in request order and
 * combine the shared secrets into the WireGuard PSK (src/kem/psk.ts). HQC-256 comes from
 * the worker pool, so the event loop never runs it; ML-KEM-1024 and Classic McEliece
 * encapsulation take about a millisecond each (McEliece: 1248 × 105 word ANDs over the
 * received key, no parsing) and run in-thread.
 */
import { PqpskError } from '../errors.js';
import { Psk } from '../kem/psk.js';
import type { Kem, KemName } from '../kem/types.js';
import type { KemPublicKey } from '../protocol/request.js';

/** The Kem to use for a wire name (already validated as supported). */
export type KemProvider = (name: KemName) => Kem;

export interface EncapsulationTiming {
  readonly algorithm: KemName;
  readonly ms: number;
}

/** Ciphertexts in request order, the PSK (caller wipes), and how long each KEM took. */
export interface EncapsulationResult {
  readonly ciphertexts: readonly Uint8Array[];
  readonly psk: Psk;
  readonly timings: readonly EncapsulationTiming[];
}

/**
 * Encapsulate to every key: the in-thread KEMs first (ML-KEM-1024 validates its key in
 * about a millisecond), then HQC-256 on a worker only if they passed; the results are
 * kept in request order. Shared secrets are wiped as soon
 * as the PSK exists, and on any failure, including the secrets of KEMs that succeeded
 * (best effort: JS may hold copies we cannot reach).
 */
export async function encapsulateAll(
  kems: readonly KemPublicKey[],
  provider: KemProvider,
  now: () => number = () => performance.now(),
): Promise<EncapsulationResult> {
  if (kems.length === 0) throw new PqpskError('INTERNAL', 'encapsulation: no KEM public keys (validation must refuse this)');
  // The cheap in-thread KEMs first: a key that fails their validation (ML-KEM-1024's
  // modulus check) refuses the request before any worker spends an HQC encapsulation.
  const order = kems.map((_, i) => i).sort((a, b) => Number(isInThread(kems[b]!.name)) - Number(isInThread(kems[a]!.name)));
  const pending: Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array; ms: number }>[] = new Array(kems.length);
  let cheapFailure: { reason: unknown } | null = null;
  for (const i of order) {
    const { name, publicKey } = kems[i]!;
    const started = now();
    if (!isInThread(name) && cheapFailure !== null) {
      pending[i] = Promise.reject(new PqpskError('INVALID_INPUT', `${name}: not attempted, another key of the request was refused`));
      continue;
    }
    pending[i] = provider(name)
      .encapsulate(publicKey)
      .then((e) => ({ ciphertext: e.ciphertext, sharedSecret: e.sharedSecret, ms: now() - started }));
    if (isInThread(name)) {
      // Settle it now (about a millisecond) so a bad key is known before the workers start.
      cheapFailure ??= await pending[i].then(
        () => null,
        (reason: unknown) => ({ reason }),
      );
    }
  }
  const settled = await Promise.allSettled(pending);
  const secrets = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.sharedSecret] : []));
  try {
    if (cheapFailure !== null) throw cheapFailure.reason;
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<{ ciphertext: Uint8Array; sharedSecret: Uint8Array; ms: number }>).value);
    return {
      ciphertexts: results.map((r) => r.ciphertext),
      psk: Psk.fromSharedSecrets(results.map((r) => r.sharedSecret)),
      timings: results.map((r, i) => ({ algorithm: kems[i]!.name, ms: r.ms })),
    };
  } finally {
    for (const secret of secrets) secret.fill(0);
  }
}

/** ML-KEM-1024 and McEliece run on the event loop (about a millisecond each); HQC-256 on the worker pool. */
function isInThread(name: KemName): boolean {
  return name !== 'HQC-256';
}
