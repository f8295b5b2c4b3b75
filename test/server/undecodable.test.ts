/**
 * Messages that are not RegisterPeerV1 requests at all, sent raw over loopback gRPC to a
 * relay: each is refused with INVALID_ARGUMENT by the relay itself (so it is logged and
 * counted as invalid_argument), never with grpc-js's INTERNAL; a message that fails to
 * decompress keeps grpc-js's own answer; the interface is never touched.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { UNDECODABLE_DETAILS } from '../../src/protocol/request.js';
import type { RpcServer } from '../../src/rpc/server.js';
import { registerPeerMethod } from '../../src/rpc/proto.js';
import { grpcFrame, rawGrpcCall } from '../fixtures/raw-grpc.js';
import { clientRequest, makeWorld, serveOverLoopback, setCount, type World } from './helpers.js';

describe('undecodable messages over loopback gRPC', () => {
  let world: World;
  let server: RpcServer;

  before(async () => {
    world = await makeWorld();
    server = await serveOverLoopback(world);
  });
  after(() => server.forceShutdown());

  // 00: field number 0, which protobuf forbids; 0a: a length-delimited field with no length;
  // 0a05 41: a field claiming 5 bytes that are not there; ff: a truncated varint tag.
  for (const hex of ['00', '0a', '0a0541', 'ff', '08ffffffffffffffffffff01']) {
    test(`message ${hex} → INVALID_ARGUMENT from the relay, logged and counted`, async () => {
      const sets = setCount(world.wg);
      const counted = world.relay.metrics.registrations('invalid_argument');
      const lines = world.logger.of('registration').length;
      const answer = await rawGrpcCall(server.address, grpcFrame(Buffer.from(hex, 'hex')));
      assert.equal(answer.status, Status.INVALID_ARGUMENT);
      assert.equal(answer.message, UNDECODABLE_DETAILS);
      assert.equal(world.relay.metrics.registrations('invalid_argument'), counted + 1);
      const logged = world.logger.of('registration').slice(lines);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!['result'], 'invalid_argument');
      assert.equal(logged[0]!['error_code'], 'INVALID_INPUT');
      assert.equal(setCount(world.wg), sets);
    });
  }

  test('a message that fails to decompress keeps grpc-js\'s own answer and never reaches the relay', async () => {
    const lines = world.logger.of('registration').length;
    const answer = await rawGrpcCall(server.address, grpcFrame(Buffer.from('not gzip at all'), true), { encoding: 'gzip' });
    assert.equal(answer.status, Status.INTERNAL);
    assert.match(answer.message, /decompress/i);
    assert.equal(world.logger.of('registration').length, lines);
  });

  test('a well-formed request sent raw is served as usual (the marker is for failures only)', async () => {
    const client = await clientRequest(world.P.raw, ['ML-KEM-1024']);
    const body = registerPeerMethod().requestSerialize(client.request);
    const answer = await rawGrpcCall(server.address, grpcFrame(body));
    assert.equal(answer.status, Status.OK);
  });

  test('a gzip-compressed request that decompresses to garbage is refused by the relay as INVALID_ARGUMENT', async () => {
    const answer = await rawGrpcCall(server.address, grpcFrame(gzipSync(Buffer.from([0])), true), { encoding: 'gzip' });
    assert.equal(answer.status, Status.INVALID_ARGUMENT);
    assert.equal(answer.message, UNDECODABLE_DETAILS);
  });
});
