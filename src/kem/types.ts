/**
 * The contract every KEM in pqpsk fulfils. Wire names are the protocol's
 * `KemPubkeyV1.algorithm_name` strings, byte for byte.
 */
export type KemName = 'ML-KEM-1024' | 'HQC-256' | 'Classic-McEliece-460896f-round3';

/** Fixed sizes of one KEM, in bytes (the edge checks every buffer against these). */
export interface KemSizes {
  readonly publicKey: number;
  readonly secretKey: number;
  readonly ciphertext: number;
  readonly sharedSecret: number;
}

export interface KemKeypair {
  readonly publicKey: Uint8Array;
  /** Secret: wipe with `.fill(0)` once decapsulated (a keypair is used exactly once). */
  readonly secretKey: Uint8Array;
}

export interface Encapsulation {
  readonly ciphertext: Uint8Array;
  /** Secret: wipe with `.fill(0)` once combined into the PSK. */
  readonly sharedSecret: Uint8Array;
}

/**
 * One KEM. Operations are async so an implementation may run on a worker thread
 * (HQC-256 costs tens of milliseconds per operation); all inputs are length-checked
 * with labelled errors (`<name> public key: expected N bytes, got M`).
 */
export interface Kem {
  readonly name: KemName;
  readonly sizes: KemSizes;
  keygen(): Promise<KemKeypair>;
  encapsulate(publicKey: Uint8Array): Promise<Encapsulation>;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>;
}

/**
 * Fills `out` with random bytes, in place. Injected wherever tests need known answers;
 * production passes a CSPRNG. The call pattern matters for KATs: implementations draw
 * exactly the bytes their reference implementation draws, in the same calls.
 */
export type RandomFill = (out: Uint8Array) => void;
