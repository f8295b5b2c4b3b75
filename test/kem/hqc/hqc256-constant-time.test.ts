/**
 * Constant time of the project's HQC-256, checked on its instrumented twin
 * (wasm/hqc-256/hqc-256-trace.wasm: the same sources, built by the same script with clang's
 * SanitizerCoverage trace-pc-guard, trace-loads and trace-stores). Each call yields a hash
 * of the ordered sequence of basic blocks it entered and of the addresses (and sizes) of
 * every load and store, with the counts of both.
 *
 * What it shows: for the inputs below, keygen, encapsulation, decapsulation and the
 * multiplication itself enter the same basic blocks and touch the same addresses in the
 * same order whatever the secret values (secret seeds, x and y, r1, r2 and e, the message,
 * accept or reject in decapsulation, multiplier weights from 0 to dense), while the public
 * inputs stay fixed. Changing a public input does change the trace, so the check can fail.
 *
 * What it does not show: that the production module, compiled without the instrumentation,
 * makes the same choices (the optimiser may differ slightly: both come from the same -O3
 * pipeline, and the instrumentation runs at its end); what V8 generates from the
 * WebAssembly; that every instruction takes data-independent time on a given CPU (the code
 * has no division and no secret-dependent shift amount, only 64-bit multiplies of public
 * constants in sampling); and anything about inputs not tried.
 */
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { HQC_256_SIZES } from '../../../src/kem/hqc-256.js';
import { hqc256WasmPath, Hqc256Wasm } from '../../../src/kem/hqc/hqc256-wasm.js';
import { wasmApi, type WasmGlobal, type WasmMemory } from '../../../src/kem/hqc/webassembly.js';

type Fn = (...args: number[]) => number;

interface TraceExports {
  readonly memory: WasmMemory;
  readonly __stack_pointer: WasmGlobal;
  readonly pqpsk_io: () => number;
  readonly pqpsk_wipe: () => void;
  readonly pqpsk_trace_reset: () => void;
  readonly pqpsk_trace_hash: () => bigint;
  readonly pqpsk_trace_blocks: () => bigint;
  readonly pqpsk_trace_accesses: () => bigint;
  readonly [name: string]: unknown;
}

interface Trace {
  readonly hash: string;
  readonly blocks: bigint;
  readonly accesses: bigint;
  readonly rc: number;
}

/** One instance of the trace build; each call's randomness comes from `draws`, in order. */
function tracer() {
  const path = new URL('hqc-256-trace.wasm', hqc256WasmPath());
  let draws: Uint8Array[] = [];
  let memory: WasmMemory | undefined;
  const instance = new wasmApi.Instance(new wasmApi.Module(readFileSync(path)), {
    env: {
      PQCLEAN_randombytes(ptr: number, n: number): number {
        const next = draws.shift();
        assert.ok(next !== undefined && next.length === n, `unexpected randomness request of ${n} bytes`);
        new Uint8Array(memory!.buffer, ptr, n).set(next);
        return 0;
      },
    },
  });
  const e = instance.exports as unknown as TraceExports;
  memory = e.memory;
  const stackTop = Number(e.__stack_pointer.value);
  return (fn: string, outputSizes: number[], inputs: Uint8Array[], randomness: Uint8Array[] = []): Trace => {
    e.pqpsk_wipe();
    new Uint8Array(e.memory.buffer, 0, stackTop).fill(0);
    const io = e.pqpsk_io();
    const ptrs: number[] = [];
    let at = io;
    for (const size of [...outputSizes, ...inputs.map((b) => b.length)]) {
      ptrs.push(at);
      at += (size + 7) & ~7;
    }
    inputs.forEach((bytes, i) => new Uint8Array(e.memory.buffer).set(bytes, ptrs[outputSizes.length + i]!));
    draws = [...randomness];
    e.pqpsk_trace_reset();
    const rc = (e[fn] as Fn)(...ptrs);
    assert.equal(draws.length, 0, 'every prepared draw was used');
    return {
      hash: BigInt.asUintN(64, e.pqpsk_trace_hash()).toString(16),
      blocks: BigInt.asUintN(64, e.pqpsk_trace_blocks()),
      accesses: BigInt.asUintN(64, e.pqpsk_trace_accesses()),
      rc,
    };
  };
}

function random(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

/** All traces equal the first (blocks, accesses and the ordered hash); returns it. */
function assertSameTrace(label: string, traces: Trace[]): Trace {
  const [first, ...rest] = traces;
  assert.ok(first !== undefined && first.blocks > 0n && first.accesses > 0n, `${label}: nothing was traced`);
  rest.forEach((t, i) => {
    assert.deepEqual(
      { hash: t.hash, blocks: t.blocks, accesses: t.accesses },
      { hash: first.hash, blocks: first.blocks, accesses: first.accesses },
      `${label}: case ${i + 1} took another path than case 0`,
    );
  });
  return first;
}

const SEED = 40; // SEED_BYTES
const SIGMA = 32; // VEC_K_SIZE_BYTES
const SALT = 16; // SALT_SIZE_BYTES
const KEYGEN = 'PQCLEAN_HQC256_CLEAN_crypto_kem_keypair';
const ENC = 'PQCLEAN_HQC256_CLEAN_crypto_kem_enc';
const DEC = 'PQCLEAN_HQC256_CLEAN_crypto_kem_dec';
const MUL = 'PQCLEAN_HQC256_CLEAN_vect_mul';

test('keygen: the same path for any secret seed and σ, given the public seed', (t) => {
  const run = tracer();
  const pkSeed = random(SEED);
  const keygen = (skSeed: Uint8Array, sigma: Uint8Array) =>
    run(KEYGEN, [HQC_256_SIZES.publicKey, HQC_256_SIZES.secretKey], [], [skSeed, sigma, pkSeed]);
  const same = assertSameTrace('keygen', [
    keygen(random(SEED), random(SIGMA)),
    keygen(new Uint8Array(SEED), new Uint8Array(SIGMA)),
    keygen(new Uint8Array(SEED).fill(0xff), new Uint8Array(SIGMA).fill(0xff)),
    keygen(random(SEED), random(SIGMA)),
  ]);
  t.diagnostic(`keygen: ${same.blocks} basic blocks, ${same.accesses} memory accesses`);
  // The trace does see public data: another public seed, another h, other table indices.
  const other = run(KEYGEN, [HQC_256_SIZES.publicKey, HQC_256_SIZES.secretKey], [], [random(SEED), random(SIGMA), random(SEED)]);
  assert.notEqual(other.hash, same.hash);
});

test('encapsulation: the same path for any message (hence r1, r2, e), given the public key', (t) => {
  const run = tracer();
  const { publicKey } = Hqc256Wasm.instantiate().keypair();
  const salt = random(SALT);
  const enc = (m: Uint8Array, s = salt) => run(ENC, [HQC_256_SIZES.ciphertext, HQC_256_SIZES.sharedSecret], [publicKey], [m, s]);
  const same = assertSameTrace('encapsulation', [
    enc(random(SIGMA)),
    enc(new Uint8Array(SIGMA)),
    enc(new Uint8Array(SIGMA).fill(0xff)),
    enc(random(SIGMA), random(SALT)),
  ]);
  t.diagnostic(`encapsulation: ${same.blocks} basic blocks, ${same.accesses} memory accesses`);
  const otherKey = Hqc256Wasm.instantiate().keypair().publicKey;
  assert.notEqual(run(ENC, [HQC_256_SIZES.ciphertext, HQC_256_SIZES.sharedSecret], [otherKey], [random(SIGMA), salt]).hash, same.hash);
});

test('decapsulation: the same path for the right key and for wrong secret keys, accepting or rejecting', (t) => {
  const run = tracer();
  const hqc = Hqc256Wasm.instantiate();
  const { publicKey, secretKey } = hqc.keypair();
  const { ciphertext } = hqc.encapsulate(publicKey);
  // Another secret seed or σ with the same public key: other x and y, so decryption yields
  // another message and the re-encryption check rejects.
  const otherSeed = secretKey.slice();
  otherSeed.set(random(SEED), 0);
  const otherSigma = secretKey.slice();
  otherSigma.set(random(SIGMA), SEED);
  const zeroSeed = secretKey.slice();
  zeroSeed.fill(0, 0, SEED);
  const dec = (sk: Uint8Array) => run(DEC, [HQC_256_SIZES.sharedSecret], [ciphertext, sk]);
  const cases = [dec(secretKey), dec(otherSeed), dec(otherSigma), dec(zeroSeed)];
  assert.deepEqual(cases.map((c) => c.rc), [0, -1, 0, -1], 'accepted, rejected, accepted, rejected');
  const same = assertSameTrace('decapsulation', cases);
  t.diagnostic(`decapsulation: ${same.blocks} basic blocks, ${same.accesses} memory accesses`);
  const tampered = ciphertext.slice();
  tampered[5]! ^= 1;
  assert.notEqual(run(DEC, [HQC_256_SIZES.sharedSecret], [tampered, secretKey]).hash, same.hash);
});

test('the multiplication alone: the same path for secret operands of any weight, given the public one', (t) => {
  const run = tracer();
  const words = 901; // VEC_N_SIZE_64
  const bytes = words * 8;
  const lastBits = 57637 - 64 * (words - 1); // PARAM_N bits in the last word
  const vector = (fill: (v: BigUint64Array) => void) => {
    const v = new BigUint64Array(words);
    fill(v);
    v[words - 1]! &= (1n << BigInt(lastBits)) - 1n;
    return new Uint8Array(v.buffer);
  };
  const publicOperand = vector((v) => randomFillSync(v));
  const sparse = (weight: number) =>
    vector((v) => {
      for (let i = 0; i < weight; i++) {
        const bit = Math.floor(Math.random() * 57637);
        v[bit >> 6]! |= 1n << BigInt(bit & 63);
      }
    });
  const mul = (secret: Uint8Array, pub = publicOperand) => run(MUL, [bytes], [secret, pub]);
  const same = assertSameTrace('vect_mul', [
    mul(vector(() => undefined)),
    mul(vector((v) => (v[0] = 1n))),
    mul(vector((v) => (v[words - 1] = 1n << BigInt(lastBits - 1)))),
    mul(sparse(131)),
    mul(sparse(149)),
    mul(vector((v) => randomFillSync(v))),
    mul(vector((v) => v.fill(0xffffffffffffffffn))),
  ]);
  t.diagnostic(`vect_mul: ${same.blocks} basic blocks, ${same.accesses} memory accesses`);
  assert.notEqual(mul(sparse(149), vector((v) => randomFillSync(v))).hash, same.hash);
});
