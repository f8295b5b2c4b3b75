/**
 * HQC-256 as a Kem: its sizes, and the checks around whichever engine (the WebAssembly
 * build in kem/hqc/, or a pool of them) does the arithmetic.
 */
import { checkLength, isPqpskError, PqpskError } from '../errors.js';
import type { Encapsulation, Kem, KemKeypair, KemSizes } from './types.js';

/**
 * HQC-256 as PQClean ships it (HQC submission of 2023-04-30, the version Mullvad's client
 * uses): public key s‖seed, secret key seeds‖σ‖pk (NIST API), ciphertext u‖v‖salt,
 * a 64-byte SHAKE-256 shared secret (hashed to 32 bytes by the PSK combiner).
 */
export const HQC_256_SIZES: KemSizes = Object.freeze({
  publicKey: 7245,
  secretKey: 7317,
  ciphertext: 14421,
  sharedSecret: 64,
});

const NAME = 'HQC-256';

/**
 * Where HQC-256 actually runs: PQClean's C compiled to WebAssembly (our own build or the
 * pqclean package's), in this thread or on a worker pool (kem/hqc/, server/hqc-pool.ts).
 * Injected so that this file stays free of I/O and of the loader; results
 * may be sync or async. A backend throws PqpskError('KEM_FAILURE') when decapsulation
 * rejects a ciphertext.
 */
export interface HqcBackend {
  keypair(): KemKeypair | Promise<KemKeypair>;
  encapsulate(publicKey: Uint8Array): Encapsulation | Promise<Encapsulation>;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** A backend whose calls block until done (an in-thread WebAssembly instance). */
export interface SyncHqcBackend extends HqcBackend {
  keypair(): KemKeypair;
  encapsulate(publicKey: Uint8Array): Encapsulation;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * The HQC-256 Kem: checks every length at the edge, both of untrusted input and of what the
 * backend hands back (a backend bug must not become a short PSK), and keeps the backend's
 * errors inside our error family.
 *
 * Each keypair serves exactly one decapsulation: the 2023 HQC has a published
 * decryption-failure-oracle weakness when a key is reused (see registry.ts).
 */
export function createHqc256Kem(backend: HqcBackend): Kem {
  return {
    name: NAME,
    sizes: HQC_256_SIZES,
    async keygen() {
      const pair = await guard('keygen', () => backend.keypair());
      checkOutput(`${NAME} public key (generated)`, pair.publicKey, HQC_256_SIZES.publicKey, [pair.secretKey]);
      checkOutput(`${NAME} secret key (generated)`, pair.secretKey, HQC_256_SIZES.secretKey, [pair.secretKey]);
      return pair;
    },
    async encapsulate(publicKey) {
      checkLength(`${NAME} public key`, publicKey, HQC_256_SIZES.publicKey);
      const enc = await guard('encapsulation', () => backend.encapsulate(publicKey));
      checkOutput(`${NAME} ciphertext (generated)`, enc.ciphertext, HQC_256_SIZES.ciphertext, [enc.sharedSecret]);
      checkOutput(`${NAME} shared secret (generated)`, enc.sharedSecret, HQC_256_SIZES.sharedSecret, [enc.sharedSecret]);
      return enc;
    },
    async decapsulate(ciphertext, secretKey) {
      checkLength(`${NAME} ciphertext`, ciphertext, HQC_256_SIZES.ciphertext);
      checkLength(`${NAME} secret key`, secretKey, HQC_256_SIZES.secretKey);
      const shared = await guard('decapsulation', () => backend.decapsulate(ciphertext, secretKey));
      checkOutput(`${NAME} shared secret (decapsulated)`, shared, HQC_256_SIZES.sharedSecret, [shared]);
      return shared;
    },
  };
}

async function guard<T>(operation: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isPqpskError(err)) throw err;
    throw new PqpskError('INTERNAL', `${NAME} ${operation}: backend failed`, { cause: err });
  }
}

/** A wrong-sized result is our bug, not the peer's: wipe what it carried and say INTERNAL. */
function checkOutput(label: string, bytes: Uint8Array, expected: number, secrets: Uint8Array[]): void {
  try {
    checkLength(label, bytes, expected);
  } catch (cause) {
    for (const s of secrets) if (s instanceof Uint8Array) s.fill(0);
    throw new PqpskError('INTERNAL', `${label}: backend returned the wrong size`, { cause });
  }
}
