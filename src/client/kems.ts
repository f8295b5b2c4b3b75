/**
 * The KEMs a client offers. The client decapsulates once per negotiation, so HQC-256
 * runs in this thread (wasm/pqclean.ts) rather than on a worker pool; Classic McEliece's
 * keygen and decapsulation come from the reference code (./mceliece.ts).
 */
import { PqpskError } from '../errors.js';
import { assertAlgorithmList, createKem } from '../kem/registry.js';
import type { Kem } from '../kem/types.js';
import { referenceMcElieceBackend } from './mceliece.js';
import { hqcBackendOf, PqcleanWasm } from '../../wasm/pqclean.js';

/** What the client sends unless told otherwise, as Mullvad's app does: ML-KEM-1024 then HQC-256. */
export const DEFAULT_CLIENT_KEMS = 'ML-KEM-1024,HQC-256';

/** Parse `--kem` (comma-separated wire names) with the relay's own list rules. */
export function parseKemList(text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new PqpskError('INVALID_INPUT', '--kem: expected at least one KEM name');
  assertAlgorithmList(names, '--kem');
  return names;
}

/** Build the KEMs for `names` (request order); one HQC WebAssembly instance at most. */
export function createClientKems(names: readonly string[]): Kem[] {
  const checked = assertAlgorithmList(names, '--kem');
  let hqc: ReturnType<typeof hqcBackendOf> | undefined;
  return checked.map((name) => {
    if (name === 'HQC-256') {
      hqc ??= hqcBackendOf(PqcleanWasm.instantiate());
      return createKem(name, { hqc256: hqc });
    }
    if (name === 'Classic-McEliece-460896f-round3') return createKem(name, { mceliece: referenceMcElieceBackend });
    return createKem(name);
  });
}
