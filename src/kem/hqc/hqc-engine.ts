/**
 * The HQC-256 engines behind one synchronous interface: the project's own build
 * (hqc256-wasm.ts, the default) and PQClean's as the pqclean package ships it
 * (pqclean.ts, the reference). The client and the relay's workers pick one by name.
 */
import { createHqc256Kem, type SyncHqcBackend } from '../../kem/hqc-256.js';
import { DEFAULT_HQC_ENGINE, type HqcEngine } from '../../kem/registry.js';
import type { Kem, RandomFill } from '../../kem/types.js';
import { hqc256Module, Hqc256Wasm } from './hqc256-wasm.js';
import { hqcBackendOf, PqcleanWasm, pqcleanModule } from './pqclean.js';
import type { WasmModule } from './webassembly.js';

/** The engine's compiled module (compiled once per thread; postable to a worker). */
export function hqcEngineModule(engine: HqcEngine): WasmModule {
  return engine === 'pqclean' ? pqcleanModule() : hqc256Module();
}

export interface HqcEngineOptions {
  /** Default: the default engine. */
  readonly engine?: HqcEngine;
  /** The engine's module compiled elsewhere (e.g. posted to a worker). */
  readonly module?: WasmModule;
  /** Answers the module's randomness import; default node:crypto. */
  readonly randomFill?: RandomFill;
}

/** A fresh instance of the engine (its own linear memory). */
export function instantiateHqcEngine(options: HqcEngineOptions = {}): SyncHqcBackend {
  const { engine = DEFAULT_HQC_ENGINE, ...rest } = options;
  return engine === 'pqclean' ? hqcBackendOf(PqcleanWasm.instantiate(rest)) : Hqc256Wasm.instantiate(rest);
}

/**
 * HQC-256 on this thread: for the client, which decapsulates once per negotiation and can
 * afford blocking the event loop for those few milliseconds.
 */
export function createInThreadHqc256Kem(options: HqcEngineOptions = {}): Kem {
  return createHqc256Kem(instantiateHqcEngine(options));
}
