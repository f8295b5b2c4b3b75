/**
 * Where HQC-256 runs. `pqpsk`: the project's own WebAssembly build (wasm/hqc-256/:
 * PQClean's HQC-256 with a faster constant-time multiplication), the default.
 * `pqclean`: PQClean's build as the pqclean package ships it, the reference engine for
 * operators who want the upstream build. Both give byte-identical keys, ciphertexts and
 * secrets for the same randomness.
 *
 * In a module that imports nothing: `--help` shows the choices without loading a KEM.
 */
export type HqcEngine = 'pqpsk' | 'pqclean';
export const HQC_ENGINES: readonly HqcEngine[] = Object.freeze(['pqpsk', 'pqclean'] as const);
export const DEFAULT_HQC_ENGINE: HqcEngine = 'pqpsk';
