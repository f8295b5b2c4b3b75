/**
 * Loads proto/ephemeralpeer.proto with one fixed set of loader options and gives the
 * rest of pqpsk typed views of the messages. Only src/rpc/ knows gRPC or protobuf.
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/**
 * The one loader-options constant. `keepCase` keeps the protocol's snake_case field names;
 * `defaults` + `arrays` make absent scalars/lists concrete while absent sub-messages decode
 * to null, so "post_quantum missing" stays distinguishable from "empty list".
 */
export const LOADER_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
});

/** The gRPC method path, fixed by the protocol. */
export const REGISTER_PEER_PATH = '/ephemeralpeer.EphemeralPeer/RegisterPeerV1';

export type {
  DaitaLevel,
  DaitaPlatform,
  ReceivedRegisterRequest,
  RegisterRequestInput,
  RegisterResponseInput,
  WireRegisterRequest,
  WireRegisterResponse,
} from '../protocol/messages.js';
import type { RegisterRequestInput, RegisterResponseInput, WireRegisterRequest, WireRegisterResponse } from '../protocol/messages.js';

const PROTO_PATH = fileURLToPath(new URL('../../../proto/ephemeralpeer.proto', import.meta.url));

/** The `RegisterPeerV1` method definition, with its (de)serializers. */
export interface RegisterPeerMethod {
  readonly path: string;
  requestSerialize(value: RegisterRequestInput): Buffer;
  requestDeserialize(bytes: Buffer): WireRegisterRequest;
  responseSerialize(value: RegisterResponseInput): Buffer;
  responseDeserialize(bytes: Buffer): WireRegisterResponse;
}

let cached: grpc.ServiceDefinition | undefined;

/** The EphemeralPeer service definition, loaded once per process. */
export function ephemeralPeerService(): grpc.ServiceDefinition {
  if (cached === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, { ...LOADER_OPTIONS });
    const service = definition['ephemeralpeer.EphemeralPeer'];
    if (service === undefined || 'format' in service) {
      throw new Error('proto/ephemeralpeer.proto does not define ephemeralpeer.EphemeralPeer');
    }
    cached = service as grpc.ServiceDefinition;
  }
  return cached;
}

/** The typed RegisterPeerV1 method (also used by tests to encode/decode raw messages). */
export function registerPeerMethod(): RegisterPeerMethod {
  const method = ephemeralPeerService()['RegisterPeerV1'];
  if (method === undefined || method.path !== REGISTER_PEER_PATH) {
    throw new Error(`proto/ephemeralpeer.proto: RegisterPeerV1 must have path ${REGISTER_PEER_PATH}`);
  }
  return method as unknown as RegisterPeerMethod;
}
