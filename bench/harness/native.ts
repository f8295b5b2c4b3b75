/**
 * The reference line: PQClean's native addon (the `pqclean` package built with its C
 * addon), timed like our own KEMs, when it happens to be installed. pqpsk never uses it;
 * it shows how far the WebAssembly build is from native code on this machine. This
 * project installs its dependencies without their install scripts (`npm ci
 * --ignore-scripts`; package.json `allowScripts` denies pqclean's), so no addon is built
 * and usually the answer is one line saying so.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ML_KEM_1024_SIZES } from '../../src/kem/ml-kem-1024.js';
import { HQC_256_SIZES } from '../../src/kem/hqc-256.js';
import type { Kem, KemName, KemSizes } from '../../src/kem/types.js';
import { measureKem, type OperationTiming } from './kem-timing.js';

/** Timings of the native addon, or the one-line reason there are none. */
export type NativeReference =
  | { readonly installed: false; readonly reason: string }
  | { readonly installed: true; readonly timings: readonly OperationTiming[] };

/** The classic API of the `pqclean` package (see its API.md). */
interface PqcleanClassicKem {
  keypair(): { publicKey: Uint8Array; privateKey: Uint8Array };
  generateKey(publicKey: Uint8Array): { key: ArrayBuffer | Uint8Array; encryptedKey: ArrayBuffer | Uint8Array };
  decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): ArrayBuffer | Uint8Array;
}
interface PqcleanPackage {
  readonly kem: { readonly KEM: new (algorithm: string) => PqcleanClassicKem };
}

/** Time the native addon's ML-KEM-1024 and HQC-256, or say why there is none. */
export async function measureNativePqclean(iterations: { 'ML-KEM-1024': number; 'HQC-256': number }): Promise<NativeReference> {
  const require = createRequire(import.meta.url);
  let root: string;
  let backend: unknown;
  try {
    root = dirname(require.resolve('pqclean/package.json'));
  } catch {
    return { installed: false, reason: 'the pqclean package is not installed' };
  }
  try {
    backend = (require('pqclean/install-config.gen.js') as { backend?: unknown }).backend;
  } catch {
    return { installed: false, reason: "pqclean's install script did not run (the project skips it): no native addon to compare with" };
  }
  if (backend === 'wasm') {
    return { installed: false, reason: 'pqclean is installed WebAssembly-only (pqclean-backend=wasm): no native addon to compare with' };
  }
  if (!existsSync(join(root, 'build', 'Release', 'node_pqclean.node'))) {
    return { installed: false, reason: 'pqclean has no built native addon (build/Release/node_pqclean.node)' };
  }
  let pkg: PqcleanPackage;
  try {
    pkg = require('pqclean') as PqcleanPackage;
  } catch {
    return { installed: false, reason: "require('pqclean') failed to load the native addon" };
  }
  const timings: OperationTiming[] = [];
  for (const [name, algorithm, sizes] of [
    ['ML-KEM-1024', 'ml-kem-1024', ML_KEM_1024_SIZES],
    ['HQC-256', 'hqc-256', HQC_256_SIZES],
  ] as const) {
    const rows = await measureKem(nativeKem(pkg, name, algorithm, sizes), iterations[name]);
    timings.push(...rows.map((r) => ({ ...r, kem: `${name} native` })));
  }
  return { installed: true, timings };
}

function nativeKem(pkg: PqcleanPackage, name: KemName, algorithm: string, sizes: KemSizes): Kem {
  const kem = new pkg.kem.KEM(algorithm);
  const bytes = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));
  return {
    name,
    sizes,
    keygen: async () => {
      const { publicKey, privateKey } = kem.keypair();
      return { publicKey: bytes(publicKey), secretKey: bytes(privateKey) };
    },
    encapsulate: async (publicKey) => {
      const { key, encryptedKey } = kem.generateKey(publicKey);
      return { ciphertext: bytes(encryptedKey), sharedSecret: bytes(key) };
    },
    decapsulate: async (ciphertext, secretKey) => bytes(kem.decryptKey(secretKey, ciphertext)),
  };
}
