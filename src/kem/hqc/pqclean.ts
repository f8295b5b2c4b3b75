/**
 * Our own loader of the WebAssembly build that the `pqclean` package ships (PQClean's
 * "clean" C, compiled by emscripten). We instantiate it ourselves so the host supplies the
 * module's only randomness import: node:crypto in production, a KAT generator in tests.
 * The package's native addon is never loaded.
 *
 * Everything here is synchronous: a caller that must not block (the relay) owns an
 * instance per worker thread (see pool.ts); a client making one decapsulation per
 * negotiation can use one in-thread.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkLength, PqpskError } from '../../errors.js';
import { HQC_256_SIZES, type SyncHqcBackend } from '../../kem/hqc-256.js';
import { ML_KEM_1024_SIZES } from '../../kem/ml-kem-1024.js';
import type { Encapsulation, KemKeypair, KemSizes, RandomFill } from '../../kem/types.js';
import { callSlots, defaultRandomFill, randomnessImport, type WasmFn } from './calls.js';
import { wasmApi, type WasmMemory, type WasmModule } from './webassembly.js';

/** The schemes of the shipped module that pqpsk uses, by PQClean's directory name. */
export type PqcleanScheme = 'hqc-256' | 'ml-kem-1024';

interface SchemeInfo {
  readonly label: string;
  readonly sizes: KemSizes;
  readonly keypair: string;
  readonly enc: string;
  readonly dec: string;
}

const SCHEMES: Readonly<Record<PqcleanScheme, SchemeInfo>> = Object.freeze({
  'hqc-256': {
    label: 'HQC-256',
    sizes: HQC_256_SIZES,
    keypair: 'PQCLEAN_HQC256_CLEAN_crypto_kem_keypair',
    enc: 'PQCLEAN_HQC256_CLEAN_crypto_kem_enc',
    dec: 'PQCLEAN_HQC256_CLEAN_crypto_kem_dec',
  },
  'ml-kem-1024': {
    label: 'ML-KEM-1024',
    sizes: ML_KEM_1024_SIZES,
    keypair: 'PQCLEAN_MLKEM1024_CLEAN_crypto_kem_keypair',
    enc: 'PQCLEAN_MLKEM1024_CLEAN_crypto_kem_enc',
    dec: 'PQCLEAN_MLKEM1024_CLEAN_crypto_kem_dec',
  },
});

/** Sizes per scheme, as this loader checks them (tests compare with the package's table). */
export function pqcleanSizes(scheme: PqcleanScheme): KemSizes {
  return SCHEMES[scheme].sizes;
}

/**
 * How far below the idle stack pointer we zero after each call. The module's C stack is
 * emscripten's 5 MiB default, placed between the static data (< 52 KiB) and the heap; the
 * deepest call, HQC-256 decapsulation, was measured to dirty ~201 KiB of it. A test checks
 * that nothing non-zero is left below the stack pointer after every operation.
 */
const STACK_WIPE_BYTES = 256 * 1024;

/**
 * PQClean's fips202.c mallocs each incremental SHAKE state (≈200 bytes; HQC's seed expander
 * absorbs the secret seed into one) and frees it without zeroing. Those chunks are carved
 * from the heap right after our own region while it is live. With nothing allocated between
 * calls, the allocator hands a fresh request back from the start of the heap, so after each
 * call we allocate our region's size plus this margin, zero it and free it again. A test
 * checks that no byte of any secret or random draw survives in linear memory.
 */
const HEAP_SWEEP_MARGIN = 64 * 1024;

interface PqcleanExports {
  readonly memory: WasmMemory;
  readonly malloc: (size: number) => number;
  readonly free: (ptr: number) => void;
  readonly emscripten_stack_get_current?: () => number;
  readonly _emscripten_stack_restore?: (sp: number) => void;
  readonly [symbol: string]: unknown;
}

/**
 * Where the module is: the build copies it from the pqclean package into dist/vendor/
 * (scripts/vendor-wasm.mjs), so the installed command needs no package with an install
 * script that compiles. From dist/src/kem/hqc/, this file's compiled place.
 */
export function pqcleanWasmPath(): string {
  return fileURLToPath(new URL('../../../vendor/pqclean/pqclean.wasm', import.meta.url));
}

let compiled: WasmModule | undefined;

/**
 * The compiled module, compiled once per thread. A WebAssembly.Module can be posted to a
 * worker (structured clone), so workers instantiate without recompiling.
 */
export function pqcleanModule(): WasmModule {
  if (compiled === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(pqcleanWasmPath());
    } catch (cause) {
      throw new PqpskError('SETUP', `pqclean WebAssembly module not found at ${pqcleanWasmPath()} (the build copies it there: npm run build)`, {
        cause,
      });
    }
    compiled = new wasmApi.Module(bytes);
  }
  return compiled;
}

export interface PqcleanWasmOptions {
  /** A module compiled elsewhere (e.g. posted to this worker); default: pqcleanModule(). */
  readonly module?: WasmModule;
  /** Answers the module's PQCLEAN_randombytes; default node:crypto randomFillSync. */
  readonly randomFill?: RandomFill;
}

/**
 * One instance of the module: its own linear memory, its own randomness. Every call
 * mallocs one region for its inputs and outputs, copies results out, then zeroes the region,
 * the heap the C code used and the stack before returning (best effort: JS cannot see
 * copies the engine may have made).
 */
export class PqcleanWasm {
  readonly #exports: PqcleanExports;
  readonly #stackTop: number | undefined;

  private constructor(exports: PqcleanExports) {
    this.#exports = exports;
    const top = exports.emscripten_stack_get_current?.();
    // Only wipe the stack when the layout is the one measured above.
    this.#stackTop = top !== undefined && top - STACK_WIPE_BYTES > 1024 * 1024 ? top : undefined;
  }

  /** Instantiate (cheap: ~1 ms once the module is compiled). */
  static instantiate(options: PqcleanWasmOptions = {}): PqcleanWasm {
    const randomFill = options.randomFill ?? defaultRandomFill;
    let exports: PqcleanExports | undefined;
    const instance = new wasmApi.Instance(options.module ?? pqcleanModule(), {
      env: {
        PQCLEAN_randombytes: randomnessImport('pqclean', () => exports?.memory, randomFill),
      },
      wasi_snapshot_preview1: {
        proc_exit(code: number): never {
          throw new PqpskError('INTERNAL', `pqclean: the module requested exit (code ${code})`);
        },
      },
    });
    exports = instance.exports as unknown as PqcleanExports;
    for (const name of ['malloc', 'free', ...Object.values(SCHEMES).flatMap((s) => [s.keypair, s.enc, s.dec])]) {
      if (typeof exports[name] !== 'function') {
        throw new PqpskError('SETUP', `pqclean WebAssembly module lacks the export ${name}`);
      }
    }
    if (!(exports.memory instanceof wasmApi.Memory)) {
      throw new PqpskError('SETUP', 'pqclean WebAssembly module lacks its memory export');
    }
    return new PqcleanWasm(exports);
  }

  /** crypto_kem_keypair: draws all its randomness through randomFill. */
  keypair(scheme: PqcleanScheme): KemKeypair {
    const s = SCHEMES[scheme];
    const [publicKey, secretKey] = this.#run(
      `${s.label} keygen`,
      [s.sizes.publicKey, s.sizes.secretKey],
      [],
      (pk, sk) => this.#fn(s.keypair)(pk!, sk!),
    );
    return { publicKey: publicKey!, secretKey: secretKey! };
  }

  /** crypto_kem_enc against an untrusted public key. */
  encapsulate(scheme: PqcleanScheme, publicKey: Uint8Array): Encapsulation {
    const s = SCHEMES[scheme];
    checkLength(`${s.label} public key`, publicKey, s.sizes.publicKey);
    const [ciphertext, sharedSecret] = this.#run(
      `${s.label} encapsulation`,
      [s.sizes.ciphertext, s.sizes.sharedSecret],
      [publicKey],
      (ct, ss, pk) => this.#fn(s.enc)(ct!, ss!, pk!),
    );
    return { ciphertext: ciphertext!, sharedSecret: sharedSecret! };
  }

  /**
   * crypto_kem_dec. HQC-256 rejects a ciphertext that does not re-encrypt (non-zero return):
   * that becomes KEM_FAILURE, and the (σ-derived) output is wiped, never returned.
   * ML-KEM-1024 always returns 0 (implicit rejection).
   */
  decapsulate(scheme: PqcleanScheme, ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const s = SCHEMES[scheme];
    checkLength(`${s.label} ciphertext`, ciphertext, s.sizes.ciphertext);
    checkLength(`${s.label} secret key`, secretKey, s.sizes.secretKey);
    const [sharedSecret] = this.#run(
      `${s.label} decapsulation`,
      [s.sizes.sharedSecret],
      [ciphertext, secretKey],
      (ss, ct, sk) => this.#fn(s.dec)(ss!, ct!, sk!),
    );
    return sharedSecret!;
  }

  #fn(name: string): WasmFn {
    return this.#exports[name] as WasmFn;
  }

  /**
   * Lay out outputs then inputs in one malloc'd region, call, copy the outputs out if the
   * call returned 0; always zero the region, the heap the C code used and the used stack.
   */
  #run(operation: string, outputSizes: number[], inputs: Uint8Array[], call: (...ptrs: number[]) => number): Uint8Array[] {
    const e = this.#exports;
    let base = 0;
    let total = 0;
    const sp = e.emscripten_stack_get_current?.();
    return callSlots(
      operation,
      () => e.memory,
      { outputSizes, inputs },
      (size) => {
        total = size;
        base = e.malloc(size);
        if (base === 0) throw new PqpskError('INTERNAL', `${operation}: WebAssembly malloc of ${size} bytes failed`);
        return base;
      },
      call,
      () => {
        // An exception (randomness source, proc_exit) may have unwound through C frames:
        // put the stack pointer back so the instance stays usable.
        if (sp !== undefined) e._emscripten_stack_restore?.(sp);
        e.free(base);
        this.#sweepHeap(total + HEAP_SWEEP_MARGIN);
        this.#wipeStack();
      },
    );
  }

  #sweepHeap(size: number): void {
    const e = this.#exports;
    const ptr = e.malloc(size);
    if (ptr === 0) return; // best effort: out of memory is reported by the next call's malloc
    new Uint8Array(e.memory.buffer, ptr, size).fill(0);
    e.free(ptr);
  }

  #wipeStack(): void {
    if (this.#stackTop === undefined) return;
    new Uint8Array(this.#exports.memory.buffer, this.#stackTop - STACK_WIPE_BYTES, STACK_WIPE_BYTES).fill(0);
  }
}


/** Adapt one instance to kem/'s HQC backend interface (sync calls). */
export function hqcBackendOf(wasm: PqcleanWasm): SyncHqcBackend {
  return {
    keypair: () => wasm.keypair('hqc-256'),
    encapsulate: (publicKey) => wasm.encapsulate('hqc-256', publicKey),
    decapsulate: (ciphertext, secretKey) => wasm.decapsulate('hqc-256', ciphertext, secretKey),
  };
}
