/**
 * The deterministic generators of PQClean's KAT harness (test/crypto_kem/nistkat.c), so our
 * KEMs can reproduce its `nistkat-sha256` digests: NIST's AES-256-CTR DRBG without a
 * derivation function (the KAT `rng.c`, used for ML-KEM) and HQC's SHAKE-256 KAT PRNG
 * (test/common/hqckatrng.c, used for HQC). Test code only.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { shake256 } from '@noble/hashes/sha3.js';
import type { RandomFill } from '../../src/kem/types.js';

/** A generator as the KAT harness sees it: seeded with 48 bytes, then drawn from. */
export interface KatGenerator {
  fill(out: Uint8Array): void;
}

function aes256Block(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-ecb', key, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(cipher.update(block));
}

function incrementCounter(v: Uint8Array): void {
  for (let j = 15; j >= 0; j--) {
    if (v[j] === 0xff) {
      v[j] = 0;
    } else {
      v[j]! += 1;
      return;
    }
  }
}

/** NIST SP 800-90A CTR_DRBG(AES-256), no derivation function, no reseed: the KAT rng.c. */
export class NistCtrDrbg implements KatGenerator {
  #key = new Uint8Array(32);
  #v = new Uint8Array(16);

  constructor(entropy: Uint8Array) {
    if (entropy.length !== 48) throw new Error(`DRBG entropy: expected 48 bytes, got ${entropy.length}`);
    this.#update(entropy);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 16) {
      incrementCounter(this.#v);
      const block = aes256Block(this.#key, this.#v);
      out.set(block.subarray(0, Math.min(16, out.length - i)), i);
    }
    this.#update(undefined);
  }

  #update(provided: Uint8Array | undefined): void {
    const temp = new Uint8Array(48);
    for (let i = 0; i < 3; i++) {
      incrementCounter(this.#v);
      temp.set(aes256Block(this.#key, this.#v), 16 * i);
    }
    if (provided !== undefined) for (let i = 0; i < 48; i++) temp[i]! ^= provided[i]!;
    this.#key = temp.slice(0, 32);
    this.#v = temp.slice(32, 48);
  }
}

/** HQC's KAT PRNG: SHAKE-256(seed ‖ 0x01), squeezed continuously across calls. */
export class HqcShakePrng implements KatGenerator {
  readonly #xof = shake256.create({});

  constructor(entropy: Uint8Array) {
    if (entropy.length !== 48) throw new Error(`PRNG entropy: expected 48 bytes, got ${entropy.length}`);
    this.#xof.update(entropy).update(Uint8Array.of(0x01));
  }

  fill(out: Uint8Array): void {
    this.#xof.xofInto(out);
  }
}

/** A RandomFill whose source can be swapped between the harness's two phases. */
export class SwitchableRandom {
  current: KatGenerator | undefined;
  readonly fill: RandomFill = (out) => {
    if (this.current === undefined) throw new Error('no KAT generator set');
    this.current.fill(out);
  };
}

/** Upper-case hex, as the harness's fprintBstr prints (`%02X`). */
export function hexUpper(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

export interface KatRecord {
  readonly seed: Uint8Array;
  readonly pk: Uint8Array;
  readonly sk: Uint8Array;
  readonly ct: Uint8Array;
  readonly ss: Uint8Array;
}

/** The `count = 0` record exactly as nistkat.c writes it to stdout: no blank line. */
export function katRecordText(r: KatRecord): string {
  return [
    'count = 0',
    `seed = ${hexUpper(r.seed)}`,
    `pk = ${hexUpper(r.pk)}`,
    `sk = ${hexUpper(r.sk)}`,
    `ct = ${hexUpper(r.ct)}`,
    `ss = ${hexUpper(r.ss)}`,
    '',
  ].join('\n');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The harness's first phase: seed the generator with 0,1,…,47 and draw the 48-byte seed. */
export function katSeed(makeGenerator: (entropy: Uint8Array) => KatGenerator): Uint8Array {
  const entropy = Uint8Array.from({ length: 48 }, (_, i) => i);
  const seed = new Uint8Array(48);
  makeGenerator(entropy).fill(seed);
  return seed;
}

/** KEM operations as the harness drives them (randomness comes from the injected fill). */
export interface KatKem {
  keypair(): Promise<{ publicKey: Uint8Array; secretKey: Uint8Array }> | { publicKey: Uint8Array; secretKey: Uint8Array };
  encapsulate(pk: Uint8Array): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }> | { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(ct: Uint8Array, sk: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

/**
 * Run nistkat.c's sequence: seed phase, re-seed with `seed`, keypair, enc, dec; returns the
 * record and the decapsulated secret (the harness requires it to equal `ss`).
 */
export async function runKat(
  random: SwitchableRandom,
  makeGenerator: (entropy: Uint8Array) => KatGenerator,
  kem: KatKem,
): Promise<{ record: KatRecord; decapsulated: Uint8Array }> {
  const seed = katSeed(makeGenerator);
  random.current = makeGenerator(seed);
  try {
    const { publicKey, secretKey } = await kem.keypair();
    const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
    const decapsulated = await kem.decapsulate(ciphertext, secretKey);
    return { record: { seed, pk: publicKey, sk: secretKey, ct: ciphertext, ss: sharedSecret }, decapsulated };
  } finally {
    random.current = undefined;
  }
}

/**
 * The harness's `nistkat-sha256` value for `kem`: SHA-256 of its count = 0 record. Throws
 * if decapsulation does not give back the encapsulated secret (the harness fails then too).
 */
export async function katDigest(
  random: SwitchableRandom,
  makeGenerator: (entropy: Uint8Array) => KatGenerator,
  kem: KatKem,
): Promise<string> {
  const { record, decapsulated } = await runKat(random, makeGenerator, kem);
  if (Buffer.compare(decapsulated, record.ss) !== 0) throw new Error('KAT: decapsulation gave another secret');
  return sha256Hex(katRecordText(record));
}

/** PQClean's published nistkat-sha256 of hqc-256 (SHA-256 of its KAT response file). */
export const HQC_256_KAT_SHA256 = 'e89c520e1ac615ecf6923f211569177c536a89bf94bebf85bb263528282092c4';
