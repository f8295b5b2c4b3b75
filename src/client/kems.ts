/**
 * The KEMs a client offers. The client decapsulates once per negotiation, so HQC-256
 * runs in this thread (on the engine of kem/hqc/hqc-engine.ts) rather than on a worker pool;
 * Classic McEliece's keygen and decapsulation come from the reference code (./mceliece.ts).
 */
import { PqpskError } from '../errors.js';
import type { SyncHqcBackend } from '../kem/hqc-256.js';
import { assertAlgorithmList, createKem, DEFAULT_HQC_ENGINE, type HqcEngine } from '../kem/registry.js';
import type { Kem } from '../kem/types.js';
import { referenceMcElieceBackend } from './mceliece.js';
import { instantiateHqcEngine } from '../kem/hqc/hqc-engine.js';

export { DEFAULT_CLIENT_KEMS } from './defaults.js';

/** Parse `--kem` (comma-separated wire names) with the relay's own list rules. */
export function parseKemList(text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new PqpskError('INVALID_INPUT', '--kem: expected at least one KEM name');
  assertAlgorithmList(names, '--kem');
  return names;
}

/**
 * Build the KEMs for `names` (request order); one HQC WebAssembly instance at most, of
 * `hqcEngine` (default: the project's own build).
 */
export function createClientKems(names: readonly string[], hqcEngine: HqcEngine = DEFAULT_HQC_ENGINE): Kem[] {
  const checked = assertAlgorithmList(names, '--kem');
  let hqc: SyncHqcBackend | undefined;
  return checked.map((name) => {
    if (name === 'HQC-256') {
      hqc ??= instantiateHqcEngine({ engine: hqcEngine });
      return createKem(name, { hqc256: hqc });
    }
    if (name === 'Classic-McEliece-460896f-round3') return createKem(name, { mceliece: referenceMcElieceBackend });
    return createKem(name);
  });
}
