/**
 * The slice of the WebAssembly JS API this loader uses, typed locally: the project's
 * tsconfig carries no DOM lib and @types/node 20 does not declare `WebAssembly`. Local
 * names (not a global declaration) so nothing clashes if a lib that has them is added.
 */

/** A compiled module: cheap to instantiate, and cloneable to a worker thread. */
export interface WasmModule {
  readonly __wasmModuleBrand?: never;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** A global exported by a module (the C stack pointer); `value` is writable when mutable. */
export interface WasmGlobal {
  value: number | bigint;
}

interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: abstract new (...args: never[]) => WasmMemory;
  Global: abstract new (...args: never[]) => WasmGlobal;
}

/** The host's WebAssembly object (always present in Node). */
export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
