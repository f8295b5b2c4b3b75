/**
 * What both WebAssembly loaders (pqclean.ts, hqc256-wasm.ts) do around one call into C:
 * answer the randomness import, lay inputs and outputs out in linear memory, call, copy
 * the outputs out on success, and always wipe afterwards.
 */
import { randomFillSync } from 'node:crypto';
import { isPqpskError, PqpskError } from '../../errors.js';
import type { RandomFill } from '../../kem/types.js';
import type { WasmMemory } from './webassembly.js';

export type WasmFn = (...args: number[]) => number;

/** Production randomness for the modules: the OS CSPRNG through node:crypto. */
export const defaultRandomFill: RandomFill = (out) => {
  randomFillSync(out);
};

/**
 * The module's `PQCLEAN_randombytes(ptr, n)` import: fills n bytes at ptr from
 * `randomFill`. `memory` is read at call time (the instance exists by then).
 */
export function randomnessImport(
  label: string,
  memory: () => WasmMemory | undefined,
  randomFill: RandomFill,
): (ptr: number, n: number) => number {
  return (ptr, n) => {
    const m = memory();
    if (m === undefined) throw new PqpskError('INTERNAL', `${label}: randomness requested during start-up`);
    randomFill(new Uint8Array(m.buffer, ptr, n));
    return 0;
  };
}

export interface CallLayout {
  readonly outputSizes: readonly number[];
  readonly inputs: readonly Uint8Array[];
}

/**
 * One call: outputs then inputs, each 8-byte aligned, in a region of `total` bytes that
 * `region(total)` provides; `fn(...pointers)` must return 0, else KEM_FAILURE. Outputs are
 * copied out only on success. `cleanup` runs always (wipe the region, the stack, and
 * whatever else the C code touched), also when the call threw or trapped.
 */
export function callSlots(
  operation: string,
  memory: () => WasmMemory,
  layout: CallLayout,
  region: (total: number) => number,
  fn: WasmFn,
  cleanup: () => void,
): Uint8Array[] {
  const { outputSizes, inputs } = layout;
  const sizes = [...outputSizes, ...inputs.map((b) => b.length)];
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += (size + 7) & ~7;
  }
  const base = region(total);
  const ptrs = offsets.map((o) => base + o);
  try {
    inputs.forEach((bytes, i) => {
      new Uint8Array(memory().buffer).set(bytes, ptrs[outputSizes.length + i]!);
    });
    let rc: number;
    try {
      rc = fn(...ptrs);
    } catch (cause) {
      if (isPqpskError(cause)) throw cause;
      throw new PqpskError('INTERNAL', `${operation}: the WebAssembly call failed`, { cause });
    }
    if (rc !== 0) {
      throw new PqpskError('KEM_FAILURE', `${operation} failed (PQClean returned ${rc})`);
    }
    const bytes = new Uint8Array(memory().buffer);
    return outputSizes.map((size, i) => bytes.slice(ptrs[i]!, ptrs[i]! + size));
  } finally {
    new Uint8Array(memory().buffer, base, total).fill(0);
    cleanup();
  }
}
