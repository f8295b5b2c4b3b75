/**
 * KEMs by wire name (the protocol's `KemPubkeyV1.algorithm_name`).
 *
 * Why every keypair serves exactly one decapsulation: the client makes fresh keypairs for
 * each negotiation and throws them away after decapsulating the relay's one ciphertext.
 * Beyond the general hygiene of ephemeral keys (forward secrecy of each PSK), the HQC
 * version in use — the submission of 2023-04-30, as PQClean and Mullvad ship it — has a
 * published decryption-failure-oracle weakness: an attacker who can feed many crafted
 * ciphertexts to one secret key and observe failures can recover that key. A key that
 * is decapsulated once never gives such an oracle.
 */
import { PqpskError } from '../errors.js';
import { CLASSIC_MCELIECE_460896F_SIZES, createClassicMcEliece460896f, type McElieceBackend } from './classic-mceliece-460896f.js';
import { createHqc256Kem, HQC_256_SIZES, type HqcBackend } from './hqc-256.js';
import { createMlKem1024, ML_KEM_1024_SIZES } from './ml-kem-1024.js';
import type { Kem, KemName, KemSizes, RandomFill } from './types.js';

/** What we implement. */
export const SUPPORTED_KEM_NAMES: readonly KemName[] = Object.freeze([
  'ML-KEM-1024',
  'HQC-256',
  'Classic-McEliece-460896f-round3',
] as const);

/** Names the protocol defines that pqpsk deliberately does not implement. */
export const UNIMPLEMENTED_KEM_NAMES: readonly string[] = Object.freeze(['Kyber1024']);

const SIZES: Readonly<Record<KemName, KemSizes>> = Object.freeze({
  'ML-KEM-1024': ML_KEM_1024_SIZES,
  'HQC-256': HQC_256_SIZES,
  'Classic-McEliece-460896f-round3': CLASSIC_MCELIECE_460896F_SIZES,
});

export { DEFAULT_HQC_ENGINE, HQC_ENGINES, type HqcEngine } from './hqc-engines.js';

/** What a Kem needs from outside kem/: HQC's WebAssembly backend, optional test randomness. */
export interface KemDeps {
  /** kem/hqc/: an in-thread instance (client) or the worker pool (server). */
  readonly hqc256?: HqcBackend;
  /** ML-KEM randomness; defaults to Web Crypto. Tests inject a KAT DRBG. */
  readonly mlKemRandomFill?: RandomFill;
  /** McEliece keygen and decapsulation (the client); the relay only encapsulates and passes none. */
  readonly mceliece?: McElieceBackend;
}

/** Is `name` one we implement (exact, case-sensitive, as on the wire)? */
export function isSupportedKemName(name: unknown): name is KemName {
  return typeof name === 'string' && (SUPPORTED_KEM_NAMES as readonly string[]).includes(name);
}

/**
 * Map a wire name to our KemName or reject it by name, listing what is supported.
 * `label` names the field the name came from.
 */
export function resolveKemName(name: unknown, label = 'algorithm_name'): KemName {
  if (isSupportedKemName(name)) return name;
  if (typeof name !== 'string') {
    throw new PqpskError('INVALID_INPUT', `${label}: expected a string, got ${name === null ? 'null' : typeof name}`);
  }
  const why = UNIMPLEMENTED_KEM_NAMES.includes(name)
    ? 'is defined by the protocol but not implemented by pqpsk'
    : 'is not a known KEM';
  throw new PqpskError(
    'UNSUPPORTED_ALGORITHM',
    `${label}: ${printableName(name)} ${why} (supported: ${SUPPORTED_KEM_NAMES.join(', ')})`,
  );
}

/** Sizes of a supported KEM, for edge checks before any Kem is built. */
export function kemSizes(name: unknown, label?: string): KemSizes {
  return SIZES[resolveKemName(name, label)];
}

/** Build the Kem for a wire name. HQC-256 needs its backend injected (kem/hqc/). */
export function createKem(name: unknown, deps: KemDeps = {}, label?: string): Kem {
  const kemName = resolveKemName(name, label);
  switch (kemName) {
    case 'ML-KEM-1024':
      return deps.mlKemRandomFill === undefined ? createMlKem1024() : createMlKem1024({ randomFill: deps.mlKemRandomFill });
    case 'HQC-256':
      if (deps.hqc256 === undefined) {
        throw new PqpskError('INTERNAL', 'HQC-256: no WebAssembly backend was provided');
      }
      return createHqc256Kem(deps.hqc256);
    case 'Classic-McEliece-460896f-round3':
      return createClassicMcEliece460896f(deps.mceliece === undefined ? {} : { backend: deps.mceliece });
  }
}

/** Outcome of checking a requested algorithm list; `errors` all carry labelled messages. */
export type AlgorithmListCheck =
  | { readonly ok: true; readonly names: readonly KemName[] }
  | { readonly ok: false; readonly errors: readonly PqpskError[] };

/**
 * Pure check of the algorithm names of a request, in request order (the relay's request
 * validation): non-empty, each supported, no repeats, and never Kyber1024 beside
 * ML-KEM-1024 (the protocol forbids the pair). Reports every problem, not just the first.
 * `listLabel` names the repeated field, e.g. `post_quantum.kem_pubkeys`.
 */
export function checkAlgorithmList(names: readonly unknown[], listLabel = 'post_quantum.kem_pubkeys'): AlgorithmListCheck {
  const errors: PqpskError[] = [];
  if (!Array.isArray(names) || names.length === 0) {
    errors.push(new PqpskError('INVALID_INPUT', `${listLabel}: expected at least one KEM public key, got none`));
    return { ok: false, errors };
  }
  const maxDistinct = SUPPORTED_KEM_NAMES.length + UNIMPLEMENTED_KEM_NAMES.length;
  if (names.length > maxDistinct) {
    errors.push(
      new PqpskError('INVALID_INPUT', `${listLabel}: expected at most ${maxDistinct} entries, got ${names.length}`),
    );
    return { ok: false, errors };
  }
  const resolved: KemName[] = [];
  const firstIndex = new Map<string, number>();
  names.forEach((name, i) => {
    const label = `${listLabel}[${i}].algorithm_name`;
    if (typeof name === 'string') {
      const earlier = firstIndex.get(name);
      if (earlier !== undefined) {
        errors.push(
          new PqpskError('INVALID_INPUT', `${label}: ${printableName(name)} repeats ${listLabel}[${earlier}]`),
        );
        return;
      }
      firstIndex.set(name, i);
    }
    try {
      resolved.push(resolveKemName(name, label));
    } catch (err) {
      errors.push(err as PqpskError);
    }
  });
  if (firstIndex.has('Kyber1024') && firstIndex.has('ML-KEM-1024')) {
    errors.push(
      new PqpskError('INVALID_INPUT', `${listLabel}: Kyber1024 and ML-KEM-1024 must not be requested together`),
    );
  }
  return errors.length === 0 ? { ok: true, names: resolved } : { ok: false, errors };
}

/** Like checkAlgorithmList, but throws the first problem. */
export function assertAlgorithmList(names: readonly unknown[], listLabel?: string): readonly KemName[] {
  const result = checkAlgorithmList(names, listLabel);
  if (!result.ok) throw result.errors[0] ?? new PqpskError('INTERNAL', `${listLabel ?? 'algorithm list'}: rejected`);
  return result.names;
}

/**
 * A peer-supplied name goes into our messages, so show it bounded and printable: at most
 * 64 characters, anything outside printable ASCII as `?`.
 */
function printableName(name: string): string {
  const cut = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return `"${cut.replace(/[^\x20-\x7e…]/g, '?').replace(/"/g, '\\"')}"`;
}
