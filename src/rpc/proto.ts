/**
 * Builds the EphemeralPeer service from proto/ephemeralpeer.proto's descriptor
 * (descriptor.ts) with one fixed set of conversion options and gives the rest of pqpsk
 * typed views of the messages. Only src/rpc/ knows gRPC or protobuf.
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { EPHEMERALPEER_DESCRIPTOR } from './descriptor.js';

/**
 * The one conversion-options constant, as @grpc/proto-loader would take it. `keepCase`
 * (the descriptor's field names are the protocol's snake_case ones) is built in;
 * `defaults` + `arrays` make absent scalars/lists concrete while absent sub-messages
 * decode to null, so "post_quantum missing" stays distinguishable from "empty list".
 */
export const LOADER_OPTIONS: Readonly<protobuf.IConversionOptions> = Object.freeze({
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

/** The `RegisterPeerV1` method definition, with its (de)serializers. */
export interface RegisterPeerMethod {
  readonly path: string;
  requestSerialize(value: RegisterRequestInput): Buffer;
  requestDeserialize(bytes: Buffer): WireRegisterRequest;
  responseSerialize(value: RegisterResponseInput): Buffer;
  responseDeserialize(bytes: Buffer): WireRegisterResponse;
}

let cached: grpc.ServiceDefinition | undefined;

/**
 * The EphemeralPeer service definition, built once per process: for each method what
 * @grpc/proto-loader's `loadSync` gives (path, serializers through `fromObject`/`encode`
 * and `decode`/`toObject` with LOADER_OPTIONS), from the descriptor instead of the .proto
 * text, and without the reflection descriptors nothing here reads.
 */
export function ephemeralPeerService(): grpc.ServiceDefinition {
  if (cached === undefined) {
    const root = protobuf.Root.fromJSON(EPHEMERALPEER_DESCRIPTOR);
    root.resolveAll();
    const service = root.lookupService('ephemeralpeer.EphemeralPeer');
    const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const method of service.methodsArray) {
      const request = method.resolvedRequestType!;
      const response = method.resolvedResponseType!;
      definition[method.name] = {
        path: `/ephemeralpeer.EphemeralPeer/${method.name}`,
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        requestSerialize: serializer(request),
        requestDeserialize: deserializer(request),
        responseSerialize: serializer(response),
        responseDeserialize: deserializer(response),
        originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
      };
    }
    cached = definition;
  }
  return cached;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return type.encode(type.fromObject(value as Record<string, unknown>)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), LOADER_OPTIONS);
}

/** The typed RegisterPeerV1 method (also used by tests to encode/decode raw messages). */
export function registerPeerMethod(): RegisterPeerMethod {
  const method = ephemeralPeerService()['RegisterPeerV1'];
  if (method === undefined || method.path !== REGISTER_PEER_PATH) {
    throw new Error(`proto/ephemeralpeer.proto: RegisterPeerV1 must have path ${REGISTER_PEER_PATH}`);
  }
  return method as unknown as RegisterPeerMethod;
}
