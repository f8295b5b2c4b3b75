/**
 * The protocol's messages as plain data, in the shapes src/rpc/ decodes them to (field
 * names as in proto/ephemeralpeer.proto, `bytes` as Buffer, absent sub-messages null).
 * Kept here so the pure layers can speak of messages without knowing gRPC.
 */

/** `DaitaPlatform` and `DaitaLevel` enum names as the loader decodes them. */
export type DaitaPlatform =
  | 'undefined' | 'windows_native' | 'linux_wg_go' | 'macos_wg_go' | 'ios_wg_go' | 'android_wg_go' | 'windows_wg_go';
export type DaitaLevel = `level_${'default' | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10}`;

/** A request as decoded with LOADER_OPTIONS (hand-checked against the .proto). */
export interface WireRegisterRequest {
  wg_parent_pubkey: Buffer;
  wg_ephemeral_peer_pubkey: Buffer;
  post_quantum: { kem_pubkeys: { algorithm_name: string; key_data: Buffer }[] } | null;
  daita: { activate_daita: boolean } | null;
  daita_v2: { version: number; platform: DaitaPlatform; level: DaitaLevel } | null;
}

/**
 * What the relay receives for a message that does not decode as a RegisterPeerV1 request.
 * The rpc layer hands it on instead of letting gRPC answer INTERNAL by itself, so the
 * relay refuses it like any other invalid request: INVALID_ARGUMENT, logged and counted.
 */
export interface UndecodableRequest {
  readonly undecodable: true;
}

/** Everything a relay's handler can be given: a decoded request or the undecodable marker. */
export type ReceivedRegisterRequest = WireRegisterRequest | UndecodableRequest;

/** A response as decoded with LOADER_OPTIONS. */
export interface WireRegisterResponse {
  post_quantum: { ciphertexts: Buffer[] } | null;
  daita: { client_machines: string[]; max_padding_frac: number; max_blocking_frac: number } | null;
}

/** What a sender may give the serializer: absent sub-messages may be omitted or null. */
export interface RegisterRequestInput {
  wg_parent_pubkey: Uint8Array;
  wg_ephemeral_peer_pubkey: Uint8Array;
  post_quantum?: { kem_pubkeys: { algorithm_name: string; key_data: Uint8Array }[] } | null;
  daita?: { activate_daita: boolean } | null;
  daita_v2?: { version: number; platform: DaitaPlatform | number; level: DaitaLevel | number } | null;
}

export interface RegisterResponseInput {
  post_quantum?: { ciphertexts: Uint8Array[] } | null;
  daita?: { client_machines: string[]; max_padding_frac: number; max_blocking_frac: number } | null;
}
