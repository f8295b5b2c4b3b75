/**
 * The relay's validation of RegisterPeerV1 requests, and the client's construction of
 * them. Pure: a decoded message in, a checked value out, or a PqpskError whose message
 * names the field (never its bytes). A rejected request must never reach `wg`.
 */
import { PqpskError, checkLength } from '../errors.js';
import { checkAlgorithmList, kemSizes, SUPPORTED_KEM_NAMES, UNIMPLEMENTED_KEM_NAMES } from '../kem/registry.js';
import type { KemName } from '../kem/types.js';
import { KEY_BYTES } from './wireguard.js';
import type { ReceivedRegisterRequest, RegisterRequestInput } from './messages.js';

/** The fixed text of the DAITA refusal: this relay implements post-quantum PSKs only. */
export const DAITA_UNSUPPORTED = 'DAITA is not supported by this relay';

/**
 * Protobuf framing of one KemPubkeyV1 inside post_quantum, over its name and key bytes:
 * the entry's tag and length (≤ 4 bytes), the name's tag and length (2) and the key's tag
 * and length (≤ 4), rounded up.
 */
const ENTRY_FRAMING_BYTES = 16;
/**
 * Everything else a request may carry: two 32-byte WireGuard keys with their framing
 * (68 bytes), post_quantum's own tag and length, the DAITA fields (a few bytes), with room
 * to spare for fields a newer client might add.
 */
const REQUEST_FRAMING_BYTES = 512;

/**
 * The most bytes a request naming these algorithms needs on the wire. A larger request is
 * padding nobody needs, so the relay refuses it: a request is allowed to be big only as
 * far as its algorithms make it (a McEliece key is 524 160 bytes, an ML-KEM one 1 568).
 */
export function requestBytesBound(names: readonly KemName[]): number {
  return names.reduce((sum, name) => sum + ENTRY_FRAMING_BYTES + name.length + kemSizes(name).publicKey, REQUEST_FRAMING_BYTES);
}

/**
 * The largest request any valid combination can need (every supported algorithm at once,
 * about 535 KB with McEliece): the relay's transport limit, applied before decoding.
 */
export const MAX_REQUEST_BYTES = requestBytesBound(SUPPORTED_KEM_NAMES);

export interface KemPublicKey {
  readonly name: KemName;
  readonly publicKey: Uint8Array;
}

/** A request that passed every structural check; authentication is the relay's next step. */
export interface ValidRegisterRequest {
  readonly parentKey: Uint8Array;
  readonly ephemeralKey: Uint8Array;
  /** In request order: ciphertexts are answered in this order and the PSK XORs in it. */
  readonly kems: readonly KemPublicKey[];
}

/** The text of the refusal of a message that is not a RegisterPeerV1 request at all. */
export const UNDECODABLE_DETAILS = 'request: not a RegisterPeerV1 protobuf message';

/**
 * Check a decoded request: a message that failed to decode is INVALID_INPUT; DAITA
 * refused (UNSUPPORTED_FEATURE); both WireGuard keys 32 bytes and distinct; `post_quantum` present with 1…N distinct supported algorithms
 * (Kyber1024 never beside ML-KEM-1024), each key exactly its KEM's length; and, when the
 * transport says how many bytes the request took, no more than its algorithms need.
 */
export function validateRegisterRequest(request: ReceivedRegisterRequest, encodedBytes?: number): ValidRegisterRequest {
  if ('undecodable' in request) throw new PqpskError('INVALID_INPUT', UNDECODABLE_DETAILS);
  if (request.daita?.activate_daita === true || request.daita_v2 != null) {
    throw new PqpskError('UNSUPPORTED_FEATURE', DAITA_UNSUPPORTED);
  }
  checkLength('wg_parent_pubkey', request.wg_parent_pubkey, KEY_BYTES);
  checkLength('wg_ephemeral_peer_pubkey', request.wg_ephemeral_peer_pubkey, KEY_BYTES);
  if (Buffer.compare(request.wg_parent_pubkey, request.wg_ephemeral_peer_pubkey) === 0) {
    throw new PqpskError('INVALID_INPUT', 'wg_ephemeral_peer_pubkey: must differ from wg_parent_pubkey');
  }
  const pq = request.post_quantum;
  if (pq == null) {
    throw new PqpskError('INVALID_INPUT', 'post_quantum: missing (this relay registers post-quantum ephemeral peers only)');
  }
  const names = requestedAlgorithms(pq.kem_pubkeys.map((k) => k.algorithm_name));
  const kems = pq.kem_pubkeys.map((entry, i): KemPublicKey => {
    const name = names[i] as KemName;
    checkLength(`post_quantum.kem_pubkeys[${i}] ${name} public key`, entry.key_data, kemSizes(name).publicKey);
    return { name, publicKey: entry.key_data };
  });
  if (encodedBytes !== undefined && encodedBytes > requestBytesBound(names)) {
    throw new PqpskError(
      'INVALID_INPUT',
      `request: ${encodedBytes} bytes, more than its algorithms need (at most ${requestBytesBound(names)})`,
    );
  }
  return { parentKey: request.wg_parent_pubkey, ephemeralKey: request.wg_ephemeral_peer_pubkey, kems };
}

/**
 * The request's algorithm names, checked. When the one problem is a KEM the protocol
 * defines but pqpsk does not implement (Kyber1024), the answer is UNSUPPORTED_FEATURE
 * (gRPC UNIMPLEMENTED) naming what is supported: the request is well-formed, the relay
 * just lacks that KEM. Anything else malformed stays INVALID_INPUT or UNSUPPORTED_ALGORITHM.
 */
function requestedAlgorithms(names: readonly unknown[]): readonly KemName[] {
  const check = checkAlgorithmList(names);
  if (check.ok) return check.names;
  const [first] = check.errors;
  if (first === undefined) throw new PqpskError('INTERNAL', 'post_quantum.kem_pubkeys: rejected');
  const unimplemented = names.some((n) => typeof n === 'string' && UNIMPLEMENTED_KEM_NAMES.includes(n));
  if (check.errors.length === 1 && first.code === 'UNSUPPORTED_ALGORITHM' && unimplemented) {
    throw new PqpskError('UNSUPPORTED_FEATURE', first.message);
  }
  throw first;
}

/** Build the client's request; the order of `kems` is the order of the answer's ciphertexts. */
export function buildRegisterRequest(parentKey: Uint8Array, ephemeralKey: Uint8Array, kems: readonly KemPublicKey[]): RegisterRequestInput {
  checkLength('parent public key', parentKey, KEY_BYTES);
  checkLength('ephemeral public key', ephemeralKey, KEY_BYTES);
  return {
    wg_parent_pubkey: parentKey,
    wg_ephemeral_peer_pubkey: ephemeralKey,
    post_quantum: { kem_pubkeys: kems.map((k) => ({ algorithm_name: k.name, key_data: k.publicKey })) },
  };
}
