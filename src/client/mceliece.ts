/**
 * Classic McEliece key generation and decapsulation for the client, from the submitters'
 * reference code of the round-2 package (mceliece-20190331) as the mceliece-nist package
 * builds it for WebAssembly. The build copies that build into dist/vendor/ (see
 * scripts/vendor-wasm.mjs), so an install compiles nothing; its native addon would be
 * about eight times faster (key generation about 0.2 s against 1.6 s here), which a client
 * that negotiates a few times a day does not need. Its KEM is the one the protocol's
 * `Classic-McEliece-460896f-round3` names — 188-byte ciphertext C0 ‖ C1 and
 * K = SHAKE256(1 ‖ e ‖ C0 ‖ C1), unchanged from round 2 to round 3 — so its keys and
 * ciphertexts are interchangeable with round 3's on the wire; only the private key layout
 * (13 568 bytes, never sent) differs. Both operations run off the event loop, each on a
 * worker of its own.
 */
import { createRequire } from 'node:module';
import type { McElieceBackend } from '../kem/classic-mceliece-460896f.js';
import type { KemKeypair } from '../kem/types.js';

interface ReferenceMcEliece {
  keypair(callback: (err: Error | null, pair: { publicKey: Buffer; privateKey: Buffer }) => void): void;
  decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array, callback: (err: Error | null, key: Buffer) => void): void;
}

let reference: ReferenceMcEliece | undefined;

function load(): ReferenceMcEliece {
  if (reference === undefined) {
    const require = createRequire(import.meta.url);
    // dist/src/client/ → dist/vendor/: the loader itself, not the package's entry, which
    // would first look for the native addon and warn on stderr when it finds none.
    const { McEliece } = require('../../vendor/mceliece-nist/wasm/main_thread.js') as { McEliece: new (algorithm: string) => ReferenceMcEliece };
    reference = new McEliece('mceliece460896f');
  }
  return reference;
}

/** The backend `createKem` takes for `Classic-McEliece-460896f-round3`; loads the module on first use. */
export const referenceMcElieceBackend: McElieceBackend = {
  keypair: () =>
    new Promise<KemKeypair>((resolve, reject) => {
      load().keypair((err, pair) => (err ? reject(err) : resolve({ publicKey: new Uint8Array(pair.publicKey), secretKey: new Uint8Array(pair.privateKey) })));
    }),
  decapsulate: (ciphertext, secretKey) =>
    new Promise<Uint8Array>((resolve, reject) => {
      load().decryptKey(secretKey, ciphertext, (err, key) => {
        if (err) {
          reject(err);
          return;
        }
        const out = new Uint8Array(key);
        key.fill(0);
        resolve(out);
      });
    }),
};
