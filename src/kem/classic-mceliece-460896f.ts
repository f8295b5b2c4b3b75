/**
 * Classic McEliece 460896f as the ephemeral-peer protocol names it,
 * `Classic-McEliece-460896f-round3`: the KEM of the NIST round-2/round-3 submissions, whose
 * ciphertext is the syndrome C0 followed by a confirmation C1 (188 bytes) — not round 4's
 * 156-byte ciphertext without C1. Parameters: m = 13, n = 4608, t = 96.
 *
 *   e  = a uniformly random vector of length n and weight t
 *   C0 = H·e, H = (I_mt | T), T the 1248 × 3360 public key (156 bytes)
 *   C1 = SHAKE256(0x02 ‖ e, 32 bytes)
 *   K  = SHAKE256(0x01 ‖ e ‖ C0 ‖ C1, 32 bytes)
 *
 * Encapsulation is ours (the relay only encapsulates). Key generation and decapsulation,
 * which the client needs, come from an injected backend (see McElieceBackend) so that kem/
 * stays free of I/O and of native code.
 *
 * Constant time: nothing branches on e or indexes by it. The rejection sampling of the
 * support positions branches only on candidates that are thrown away or on the fact that a
 * draw repeated a position (which reveals nothing about the positions kept), as the
 * reference implementation does.
 */
import { shake256 } from '@noble/hashes/sha3.js';
import { checkLength, PqpskError } from '../errors.js';
import { checkBackendOutput, guardBackend } from './backend.js';
import { webCryptoRandomFill } from './ml-kem-1024.js';
import type { Encapsulation, Kem, KemKeypair, KemSizes, RandomFill } from './types.js';

const NAME = 'Classic-McEliece-460896f-round3';

/** Code length n, error weight t, field degree m (the 460896 parameter set). */
const N = 4608;
const T = 96;
const M = 13;
/** Rows of the public key: m·t = 1248; each row holds the n − mt = 3360 non-identity columns. */
const PK_ROWS = M * T;
const PK_ROW_BYTES = (N - PK_ROWS) / 8;
const SYNDROME_BYTES = PK_ROWS / 8;
const E_BYTES = N / 8;
const CONFIRM_BYTES = 32;
/** One draw of the error sampler: 2t little-endian 16-bit candidates. */
const SAMPLE_BYTES = 2 * T * 2;
const GF_MASK = (1 << M) - 1;

/**
 * Wire sizes. The secret key is the backend's (the client's reference keygen writes the
 * 13 568-byte layout g ‖ control bits ‖ s); it never leaves the client, so only its length
 * as our backend makes it matters here.
 */
export const CLASSIC_MCELIECE_460896F_SIZES: KemSizes = Object.freeze({
  publicKey: PK_ROWS * PK_ROW_BYTES,
  secretKey: 13568,
  ciphertext: SYNDROME_BYTES + CONFIRM_BYTES,
  sharedSecret: 32,
});

/** Key generation and decapsulation, done outside kem/ (native or WebAssembly reference code). */
export interface McElieceBackend {
  keypair(): Promise<KemKeypair>;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>;
}

export interface ClassicMcElieceOptions {
  /** Source of the error sampler's 384-byte draws (one call per attempt, as the reference draws them). */
  readonly randomFill?: RandomFill;
  /** Needed for keygen and decapsulation only; the relay passes none. */
  readonly backend?: McElieceBackend;
}

/**
 * The Kem. Without a backend it encapsulates only, and keygen/decapsulate refuse with
 * UNSUPPORTED_ALGORITHM naming what is missing.
 */
export function createClassicMcEliece460896f(options: ClassicMcElieceOptions = {}): Kem {
  const randomFill = options.randomFill ?? webCryptoRandomFill;
  const backend = options.backend;
  const needBackend = (operation: string): McElieceBackend => {
    if (backend === undefined) {
      throw new PqpskError('UNSUPPORTED_ALGORITHM', `${NAME}: ${operation} needs a McEliece backend; this side only encapsulates`);
    }
    return backend;
  };
  return {
    name: NAME,
    sizes: CLASSIC_MCELIECE_460896F_SIZES,
    async keygen() {
      const pair = await guardBackend(NAME, 'keygen', () => needBackend('key generation').keypair());
      checkBackendOutput(`${NAME} public key (generated)`, pair.publicKey, CLASSIC_MCELIECE_460896F_SIZES.publicKey, [pair.secretKey]);
      checkBackendOutput(`${NAME} secret key (generated)`, pair.secretKey, CLASSIC_MCELIECE_460896F_SIZES.secretKey, [pair.secretKey]);
      return pair;
    },
    encapsulate: async (publicKey) => classicMcEliece460896fEncapsulate(publicKey, randomFill),
    async decapsulate(ciphertext, secretKey) {
      checkLength(`${NAME} ciphertext`, ciphertext, CLASSIC_MCELIECE_460896F_SIZES.ciphertext);
      checkLength(`${NAME} secret key`, secretKey, CLASSIC_MCELIECE_460896F_SIZES.secretKey);
      const shared = await guardBackend(NAME, 'decapsulation', () => needBackend('decapsulation').decapsulate(ciphertext, secretKey));
      checkBackendOutput(`${NAME} shared secret (decapsulated)`, shared, CLASSIC_MCELIECE_460896F_SIZES.sharedSecret, [shared]);
      return shared;
    },
  };
}

/**
 * Synchronous encapsulation; `publicKey` is untrusted wire input (any 524 160 bytes are a
 * usable key: the syndrome is defined for every matrix). Takes well under a millisecond of
 * arithmetic: 1248 rows × 105 word ANDs. The key is copied only when its bytes are not
 * 4-byte aligned (a view into a received message usually is not).
 */
export function classicMcEliece460896fEncapsulate(publicKey: Uint8Array, randomFill: RandomFill): Encapsulation {
  checkLength(`${NAME} public key`, publicKey, CLASSIC_MCELIECE_460896F_SIZES.publicKey);
  // 0x02 ‖ e, so e sits at offset 1 of this buffer; the syndrome reads it from an aligned copy.
  const twoE = new Uint8Array(1 + E_BYTES);
  const e = new Uint8Array(E_BYTES);
  const oneEC = new Uint8Array(1 + E_BYTES + SYNDROME_BYTES + CONFIRM_BYTES);
  try {
    fixedWeightVector(e, randomFill);
    const ciphertext = new Uint8Array(CLASSIC_MCELIECE_460896F_SIZES.ciphertext);
    syndrome(ciphertext.subarray(0, SYNDROME_BYTES), publicKey, e);
    twoE[0] = 0x02;
    twoE.set(e, 1);
    ciphertext.set(shake256(twoE, { dkLen: CONFIRM_BYTES }), SYNDROME_BYTES);
    oneEC[0] = 0x01;
    oneEC.set(e, 1);
    oneEC.set(ciphertext, 1 + E_BYTES);
    return { ciphertext, sharedSecret: shake256(oneEC, { dkLen: 32 }) };
  } finally {
    e.fill(0);
    twoE.fill(0);
    oneEC.fill(0);
  }
}

/**
 * The error vector: draw 2t 13-bit candidates (little-endian 16-bit words, masked), keep the
 * first t below n, and start again when fewer than t qualify or two kept ones coincide.
 * Bit j of e is bit (j mod 8) of byte ⌊j/8⌋. Writing the bits touches every byte for every
 * position, selected by mask, so the memory pattern does not depend on the positions.
 */
function fixedWeightVector(e: Uint8Array, randomFill: RandomFill): void {
  const sample = new Uint8Array(SAMPLE_BYTES);
  const positions = new Uint16Array(T);
  try {
    for (;;) {
      randomFill(sample);
      let count = 0;
      for (let i = 0; i < 2 * T && count < T; i++) {
        const candidate = (sample[2 * i]! | (sample[2 * i + 1]! << 8)) & GF_MASK;
        if (candidate < N) positions[count++] = candidate;
      }
      if (count < T) continue;
      let repeated = 0;
      for (let i = 1; i < T; i++) for (let j = 0; j < i; j++) repeated |= Number(positions[i] === positions[j]);
      if (repeated === 0) break;
    }
    e.fill(0);
    for (let byte = 0; byte < E_BYTES; byte++) {
      let value = 0;
      for (let j = 0; j < T; j++) {
        const p = positions[j]!;
        // all ones when p lies in this byte, else zero: (x − 1) >> 31 of x = byte ⊕ (p >> 3)
        const same = -(((byte ^ (p >> 3)) - 1) >>> 31);
        value |= (1 << (p & 7)) & same;
      }
      e[byte] = value;
    }
  } finally {
    sample.fill(0);
    positions.fill(0);
  }
}

/**
 * C0 = (I | T)·e over GF(2): bit i is e_i ⊕ parity(row_i(T) ∧ e[mt…n)). Rows are 420 bytes,
 * a multiple of 4, so both sides are read as 32-bit words; the parity of an AND does not
 * depend on the byte order in which the words were loaded, as long as both use the same.
 */
function syndrome(out: Uint8Array, publicKey: Uint8Array, e: Uint8Array): void {
  // A copy of our own (a Buffer's slice() would be another view with the same offset).
  const aligned = publicKey.byteOffset % 4 === 0 ? publicKey : new Uint8Array(publicKey);
  const rows = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const tail = new Uint32Array(e.buffer, e.byteOffset + SYNDROME_BYTES, PK_ROW_BYTES / 4);
  const wordsPerRow = PK_ROW_BYTES / 4;
  out.fill(0);
  for (let i = 0; i < PK_ROWS; i++) {
    let acc = 0;
    const base = i * wordsPerRow;
    for (let w = 0; w < wordsPerRow; w++) acc ^= rows[base + w]! & tail[w]!;
    acc ^= acc >>> 16;
    acc ^= acc >>> 8;
    acc ^= acc >>> 4;
    acc ^= acc >>> 2;
    acc ^= acc >>> 1;
    const bit = (acc ^ (e[i >> 3]! >> (i & 7))) & 1;
    out[i >> 3]! |= bit << (i & 7);
  }
}
