/**
 * The relay's KEM step: encapsulate to each public key of a request in request order and
 * combine the shared secrets into the WireGuard PSK (src/kem/psk.ts). HQC-256 comes from
 * the worker pool, so the event loop never runs it; ML-KEM-1024 takes about a
 * millisecond and runs in-thread.
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
 * Encapsulate to every key, in order. Shared secrets are wiped as soon as the PSK exists,
 * and on any failure (best effort: JS may hold copies we cannot reach).
 */
export async function encapsulateAll(
  kems: readonly KemPublicKey[],
  provider: KemProvider,
  now: () => number = () => performance.now(),
): Promise<EncapsulationResult> {
  if (kems.length === 0) throw new PqpskError('INTERNAL', 'encapsulation: no KEM public keys (validation must refuse this)');
  const secrets: Uint8Array[] = [];
  const ciphertexts: Uint8Array[] = [];
  const timings: EncapsulationTiming[] = [];
  try {
    for (const { name, publicKey } of kems) {
      const started = now();
      const { ciphertext, sharedSecret } = await provider(name).encapsulate(publicKey);
      secrets.push(sharedSecret);
      ciphertexts.push(ciphertext);
      timings.push({ algorithm: name, ms: now() - started });
    }
    return { ciphertexts, psk: Psk.fromSharedSecrets(secrets), timings };
  } finally {
    for (const secret of secrets) secret.fill(0);
  }
}
