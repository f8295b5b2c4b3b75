/**
 * ML-KEM-1024 (FIPS 203) as a Kem, from noble-post-quantum: its sizes, and every length
 * checked with a labelled error before the library sees it.
 */
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { checkLength, PqpskError } from '../errors.js';
import type { Encapsulation, Kem, KemKeypair, KemSizes, RandomFill } from './types.js';

/** FIPS 203 Table 3, ML-KEM-1024 (k = 4): encapsulation key, decapsulation key, ciphertext, K. */
export const ML_KEM_1024_SIZES: KemSizes = Object.freeze({
  publicKey: 1568,
  secretKey: 3168,
  ciphertext: 1568,
  sharedSecret: 32,
});

const NAME = 'ML-KEM-1024';
/** FIPS 203 Alg. 19: keygen draws d‖z (2 × 32 bytes) in one call. */
const KEYGEN_SEED_BYTES = 64;
/** FIPS 203 Alg. 20: encapsulation draws the 32-byte message m. */
const ENCAPS_MESSAGE_BYTES = 32;

/** The platform CSPRNG (Web Crypto's getRandomValues, present in Node ≥ 20) — no I/O import. */
export const webCryptoRandomFill: RandomFill = (out) => {
  globalThis.crypto.getRandomValues(out);
};

export interface MlKem1024Options {
  /**
   * Source of keygen's 64-byte d‖z and encapsulation's 32-byte m, one call each, exactly
   * as PQClean's reference draws them (so NIST's KAT DRBG reproduces its vectors).
   */
  readonly randomFill?: RandomFill;
}

/**
 * ML-KEM-1024 (FIPS 203) through @noble/post-quantum, with every input length-checked and
 * every failure re-labelled: noble's own messages never reach our callers. Decapsulation of
 * a tampered ciphertext does not throw — FIPS 203 implicit rejection returns J(z‖c), an
 * unrelated secret, so the PSKs of the two sides simply differ.
 *
 * Each keypair serves exactly one decapsulation (one negotiation); see registry.ts.
 */
export function createMlKem1024(options: MlKem1024Options = {}): Kem {
  const randomFill = options.randomFill ?? webCryptoRandomFill;
  return {
    name: NAME,
    sizes: ML_KEM_1024_SIZES,
    keygen: async () => mlKem1024Keygen(randomFill),
    encapsulate: async (publicKey) => mlKem1024Encapsulate(publicKey, randomFill),
    decapsulate: async (ciphertext, secretKey) => mlKem1024Decapsulate(ciphertext, secretKey),
  };
}

/** Synchronous keygen (used by the async Kem and by benchmarks). */
export function mlKem1024Keygen(randomFill: RandomFill): KemKeypair {
  const seed = new Uint8Array(KEYGEN_SEED_BYTES);
  try {
    randomFill(seed);
    const { publicKey, secretKey } = ml_kem1024.keygen(seed);
    checkLength(`${NAME} public key (generated)`, publicKey, ML_KEM_1024_SIZES.publicKey);
    checkLength(`${NAME} secret key (generated)`, secretKey, ML_KEM_1024_SIZES.secretKey);
    return { publicKey, secretKey };
  } finally {
    seed.fill(0);
  }
}

/** Synchronous encapsulation; `publicKey` is untrusted wire input. */
export function mlKem1024Encapsulate(publicKey: Uint8Array, randomFill: RandomFill): Encapsulation {
  checkLength(`${NAME} public key`, publicKey, ML_KEM_1024_SIZES.publicKey);
  const message = new Uint8Array(ENCAPS_MESSAGE_BYTES);
  try {
    randomFill(message);
    let result: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      result = ml_kem1024.encapsulate(publicKey, message);
    } catch (cause) {
      // The only input left to reject is a key whose coefficients are not reduced mod q.
      throw new PqpskError(
        'INVALID_INPUT',
        `${NAME} public key: not a valid encapsulation key (FIPS 203 §7.2 modulus check failed)`,
        { cause },
      );
    }
    // noble returns K as a view into G's output (whose upper half it already wiped): copy, wipe.
    const sharedSecret = result.sharedSecret.slice();
    result.sharedSecret.fill(0);
    return { ciphertext: result.cipherText, sharedSecret };
  } finally {
    message.fill(0);
  }
}

/** Synchronous decapsulation; `ciphertext` is untrusted wire input. */
export function mlKem1024Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength(`${NAME} ciphertext`, ciphertext, ML_KEM_1024_SIZES.ciphertext);
  checkLength(`${NAME} secret key`, secretKey, ML_KEM_1024_SIZES.secretKey);
  let shared: Uint8Array;
  try {
    shared = ml_kem1024.decapsulate(ciphertext, secretKey);
  } catch (cause) {
    // Lengths are checked above; what remains is FIPS 203 §7.3's hash check on dk.
    throw new PqpskError(
      'INVALID_INPUT',
      `${NAME} secret key: failed the FIPS 203 §7.3 integrity check (H(ek) mismatch)`,
      { cause },
    );
  }
  const out = shared.slice();
  shared.fill(0);
  return out;
}
