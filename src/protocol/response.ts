/**
 * Client-side check of a relay's answer. A relay — ours or anyone's — is untrusted input:
 * exactly one ciphertext per requested key, in request order, each of its KEM's exact
 * length, else a typed error naming the algorithm, what came and what was expected.
 */
import { PqpskError } from '../errors.js';
import type { KemName, KemSizes } from '../kem/types.js';
import type { WireRegisterResponse } from './messages.js';

export interface RequestedKem {
  readonly name: KemName;
  readonly sizes: KemSizes;
}

/** The ciphertexts of a response, validated against what was asked, in request order. */
export function ciphertextsFromResponse(response: WireRegisterResponse, requested: readonly RequestedKem[]): Uint8Array[] {
  const ciphertexts = response.post_quantum?.ciphertexts;
  if (ciphertexts === undefined) {
    throw new PqpskError('RPC_FAILURE', 'relay answer: post_quantum missing (expected one ciphertext per KEM)');
  }
  if (ciphertexts.length !== requested.length) {
    throw new PqpskError(
      'RPC_FAILURE',
      `relay answer: expected ${requested.length} ciphertexts (${requested.map((k) => k.name).join(', ')}), got ${ciphertexts.length}`,
    );
  }
  return requested.map((kem, i) => {
    const ciphertext = ciphertexts[i] as Uint8Array;
    if (ciphertext.length !== kem.sizes.ciphertext) {
      throw new PqpskError(
        'RPC_FAILURE',
        `relay answer: ${kem.name} ciphertext: expected ${kem.sizes.ciphertext} bytes, got ${ciphertext.length}`,
      );
    }
    return ciphertext;
  });
}
