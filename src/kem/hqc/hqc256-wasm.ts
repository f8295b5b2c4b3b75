/**
 * Loader of the project's own HQC-256 WebAssembly build (wasm/hqc-256/: PQClean's HQC-256
 * with a faster constant-time multiplication, compiled by clang without a C library). The
 * module imports one function, PQCLEAN_randombytes, which the host answers: node:crypto in
 * production, a KAT generator in tests.
 *
 * The module has no allocator for the host to use: it exports one fixed I/O buffer, and a
 * 256 KiB stack placed first in memory (decapsulation uses ~180 KiB of it), so we know its
 * whole extent. After every call we zero the I/O buffer, the SHAKE states (pqpsk_wipe) and
 * the whole stack, so nothing secret stays in linear memory between calls (best effort:
 * JS cannot see copies the engine may have made).
 *
 * Synchronous, like pqclean.ts: the relay runs it on worker threads (pool.ts).
 */
import { readFileSync } from 'node:fs';
import { checkLength, PqpskError } from '../../errors.js';
import { HQC_256_SIZES, type SyncHqcBackend } from '../../kem/hqc-256.js';
import type { Encapsulation, KemKeypair, RandomFill } from '../../kem/types.js';
import { callSlots, defaultRandomFill, randomnessImport, type WasmFn } from './calls.js';
import { wasmApi, type WasmGlobal, type WasmMemory, type WasmModule } from './webassembly.js';

interface Hqc256Exports {
  readonly memory: WasmMemory;
  readonly __stack_pointer: WasmGlobal;
  readonly pqpsk_io: () => number;
  readonly pqpsk_io_size: () => number;
  readonly pqpsk_wipe: () => void;
  readonly PQCLEAN_HQC256_CLEAN_crypto_kem_keypair: WasmFn;
  readonly PQCLEAN_HQC256_CLEAN_crypto_kem_enc: WasmFn;
  readonly PQCLEAN_HQC256_CLEAN_crypto_kem_dec: WasmFn;
}

const FUNCTIONS = [
  'pqpsk_io',
  'pqpsk_io_size',
  'pqpsk_wipe',
  'PQCLEAN_HQC256_CLEAN_crypto_kem_keypair',
  'PQCLEAN_HQC256_CLEAN_crypto_kem_enc',
  'PQCLEAN_HQC256_CLEAN_crypto_kem_dec',
] as const;

/** The committed module: wasm/hqc-256/hqc-256.wasm, found from this file in src or dist. */
export function hqc256WasmPath(): URL {
  // dist/src/kem/hqc/x.js sits one directory deeper below the root than src/kem/hqc/x.ts.
  const here = new URL('.', import.meta.url);
  return here.pathname.includes('/dist/src/')
    ? new URL('../../../../wasm/hqc-256/hqc-256.wasm', here)
    : new URL('../../../wasm/hqc-256/hqc-256.wasm', here);
}

let compiled: WasmModule | undefined;

/** The compiled module, compiled once per thread (and postable to a worker). */
export function hqc256Module(): WasmModule {
  if (compiled === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(hqc256WasmPath());
    } catch (cause) {
      throw new PqpskError('SETUP', 'HQC-256 WebAssembly module (wasm/hqc-256/hqc-256.wasm) not found', { cause });
    }
    compiled = new wasmApi.Module(bytes);
  }
  return compiled;
}

export interface Hqc256WasmOptions {
  /** A module compiled elsewhere (e.g. posted to this worker); default: hqc256Module(). */
  readonly module?: WasmModule;
  /** Answers the module's PQCLEAN_randombytes; default node:crypto randomFillSync. */
  readonly randomFill?: RandomFill;
}

/** One instance: its own linear memory and randomness. Usable directly as an HQC backend. */
export class Hqc256Wasm implements SyncHqcBackend {
  readonly #exports: Hqc256Exports;
  readonly #stackTop: number;
  readonly #io: number;
  readonly #ioSize: number;

  private constructor(exports: Hqc256Exports) {
    this.#exports = exports;
    this.#stackTop = Number(exports.__stack_pointer.value);
    this.#io = exports.pqpsk_io();
    this.#ioSize = exports.pqpsk_io_size();
  }

  /** Instantiate (cheap once the module is compiled). */
  static instantiate(options: Hqc256WasmOptions = {}): Hqc256Wasm {
    let exports: Hqc256Exports | undefined;
    const instance = new wasmApi.Instance(options.module ?? hqc256Module(), {
      env: {
        PQCLEAN_randombytes: randomnessImport('HQC-256', () => exports?.memory, options.randomFill ?? defaultRandomFill),
      },
    });
    const found = instance.exports;
    for (const name of FUNCTIONS) {
      if (typeof found[name] !== 'function') {
        throw new PqpskError('SETUP', `HQC-256 WebAssembly module lacks the export ${name}`);
      }
    }
    if (!(found.memory instanceof wasmApi.Memory) || !(found.__stack_pointer instanceof wasmApi.Global)) {
      throw new PqpskError('SETUP', 'HQC-256 WebAssembly module lacks its memory or stack pointer export');
    }
    exports = found as unknown as Hqc256Exports;
    return new Hqc256Wasm(exports);
  }

  /** crypto_kem_keypair: draws all its randomness through randomFill. */
  keypair(): KemKeypair {
    const [publicKey, secretKey] = this.#run(
      'HQC-256 keygen',
      [HQC_256_SIZES.publicKey, HQC_256_SIZES.secretKey],
      [],
      this.#exports.PQCLEAN_HQC256_CLEAN_crypto_kem_keypair,
    );
    return { publicKey: publicKey!, secretKey: secretKey! };
  }

  /** crypto_kem_enc against an untrusted public key. */
  encapsulate(publicKey: Uint8Array): Encapsulation {
    checkLength('HQC-256 public key', publicKey, HQC_256_SIZES.publicKey);
    const [ciphertext, sharedSecret] = this.#run(
      'HQC-256 encapsulation',
      [HQC_256_SIZES.ciphertext, HQC_256_SIZES.sharedSecret],
      [publicKey],
      this.#exports.PQCLEAN_HQC256_CLEAN_crypto_kem_enc,
    );
    return { ciphertext: ciphertext!, sharedSecret: sharedSecret! };
  }

  /**
   * crypto_kem_dec: a ciphertext that does not re-encrypt (non-zero return) becomes
   * KEM_FAILURE, and the σ-derived output is wiped, never returned.
   */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
    checkLength('HQC-256 ciphertext', ciphertext, HQC_256_SIZES.ciphertext);
    checkLength('HQC-256 secret key', secretKey, HQC_256_SIZES.secretKey);
    const [sharedSecret] = this.#run(
      'HQC-256 decapsulation',
      [HQC_256_SIZES.sharedSecret],
      [ciphertext, secretKey],
      this.#exports.PQCLEAN_HQC256_CLEAN_crypto_kem_dec,
    );
    return sharedSecret!;
  }

  #run(operation: string, outputSizes: number[], inputs: Uint8Array[], fn: WasmFn): Uint8Array[] {
    const e = this.#exports;
    return callSlots(
      operation,
      () => e.memory,
      { outputSizes, inputs },
      (total) => {
        if (total > this.#ioSize) throw new PqpskError('INTERNAL', `${operation}: ${total} bytes exceed the I/O buffer`);
        return this.#io;
      },
      fn,
      () => {
        // After a trap the stack pointer is wherever the trap left it: put it back.
        e.__stack_pointer.value = this.#stackTop;
        e.pqpsk_wipe();
        new Uint8Array(e.memory.buffer, 0, this.#stackTop).fill(0);
      },
    );
  }
}
