/**
 * The WireGuard PSK from the KEMs' shared secrets, as the ephemeral-peer protocol defines
 * it: start from 32 zero bytes and XOR in each KEM's secret in request order; a secret that
 * is not 32 bytes long (HQC-256's is 64) is first hashed with SHA-256.
 *
 * Wiping is best effort: JS gives no control over copies the engine or a library may have
 * made, but every buffer we create for an intermediate is zeroed before we let go of it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { PqpskError } from '../errors.js';
import { PSK_BYTES } from '../protocol/wireguard.js';

/**
 * Combine shared secrets (in request order) into the PSK. The inputs stay the caller's:
 * they are not wiped here (the caller wipes them once the PSK exists).
 */
export function combineSharedSecrets(secrets: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new PqpskError('INVALID_INPUT', 'shared secrets: expected at least one, got none');
  }
  const psk = new Uint8Array(PSK_BYTES);
  secrets.forEach((secret, i) => {
    if (!(secret instanceof Uint8Array) || secret.length === 0) {
      psk.fill(0);
      const got = secret instanceof Uint8Array ? '0 bytes' : secret === null ? 'null' : typeof secret;
      throw new PqpskError('INVALID_INPUT', `shared secret [${i}]: expected a non-empty byte array, got ${got}`);
    }
    const block = secret.length === PSK_BYTES ? secret : sha256(secret);
    try {
      for (let j = 0; j < PSK_BYTES; j++) psk[j]! ^= block[j]!;
    } finally {
      if (block !== secret) block.fill(0);
    }
  });
  return psk;
}

/**
 * A short public label of a PSK — hex of the first 8 bytes of SHA-256(psk) — so two sides
 * (and `pqpsk --json`) can compare keys without showing them. 64 bits of a hash reveal
 * nothing usable about a 256-bit key.
 */
export function pskFingerprint(psk: Uint8Array): string {
  if (!(psk instanceof Uint8Array) || psk.length !== PSK_BYTES) {
    const got = psk instanceof Uint8Array ? `${psk.length}` : psk === null ? 'null' : typeof psk;
    throw new PqpskError('INVALID_INPUT', `PSK: expected ${PSK_BYTES} bytes, got ${got}`);
  }
  const digest = sha256(psk);
  try {
    return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  } finally {
    digest.fill(0);
  }
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * Holds a PSK so it cannot be printed by accident: JSON, util.inspect, console.log and
 * string conversion all give `<secret>`. `bytes()` hands out the live buffer (no copy to
 * forget); `wipe()` zeroes it.
 */
export class Psk {
  readonly #bytes: Uint8Array;
  #wiped = false;

  /** Takes ownership of `bytes` (not copied): the caller drops its reference. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== PSK_BYTES) {
      const got = bytes instanceof Uint8Array ? `${bytes.length}` : typeof bytes;
      throw new PqpskError('INVALID_INPUT', `PSK: expected ${PSK_BYTES} bytes, got ${got}`);
    }
    this.#bytes = bytes;
  }

  /** Combine shared secrets straight into a held PSK. */
  static fromSharedSecrets(secrets: readonly Uint8Array[]): Psk {
    return new Psk(combineSharedSecrets(secrets));
  }

  bytes(): Uint8Array {
    if (this.#wiped) throw new PqpskError('INTERNAL', 'PSK: used after wipe');
    return this.#bytes;
  }

  fingerprint(): string {
    return pskFingerprint(this.bytes());
  }

  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toJSON(): string {
    return '<secret>';
  }

  toString(): string {
    return '<secret>';
  }

  [inspectSymbol](): string {
    return '<secret>';
  }
}
