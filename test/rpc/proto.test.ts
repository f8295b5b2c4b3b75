import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerPeerMethod, REGISTER_PEER_PATH } from '../../src/rpc/proto.js';

// A minimal protobuf writer, independent of protobufjs, so the field numbers and wire
// types of our .proto are checked against the protocol table rather than against itself.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const lenField = (field: number, body: Uint8Array | number[]): number[] => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const varintField = (field: number, value: number): number[] => [...varint(field << 3), ...varint(value)];
const doubleField = (field: number, value: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return [...varint((field << 3) | 1), ...b];
};
const str = (s: string): number[] => [...Buffer.from(s, 'utf8')];

const parent = Buffer.alloc(32, 0x11);
const ephemeral = Buffer.alloc(32, 0x22);
const mlkemKey = Buffer.alloc(1568, 0x33);
const hqcKey = Buffer.alloc(7245, 0x44);

test('RegisterPeerV1 is served at the protocol path', () => {
  assert.equal(registerPeerMethod().path, REGISTER_PEER_PATH);
  assert.equal(REGISTER_PEER_PATH, '/ephemeralpeer.EphemeralPeer/RegisterPeerV1');
});

test('request encodes byte for byte as the protocol table says (fields 1-5, nested 1-3)', () => {
  const encoded = registerPeerMethod().requestSerialize({
    wg_parent_pubkey: parent,
    wg_ephemeral_peer_pubkey: ephemeral,
    post_quantum: {
      kem_pubkeys: [
        { algorithm_name: 'ML-KEM-1024', key_data: mlkemKey },
        { algorithm_name: 'HQC-256', key_data: hqcKey },
      ],
    },
    daita: { activate_daita: true },
    daita_v2: { version: 2, platform: 'linux_wg_go', level: 'level_3' },
  });
  const expected = Buffer.from([
    ...lenField(1, parent),
    ...lenField(2, ephemeral),
    ...lenField(3, [
      ...lenField(1, [...lenField(1, str('ML-KEM-1024')), ...lenField(2, mlkemKey)]),
      ...lenField(1, [...lenField(1, str('HQC-256')), ...lenField(2, hqcKey)]),
    ]),
    ...lenField(4, varintField(1, 1)),
    ...lenField(5, [...varintField(1, 2), ...varintField(2, 2), ...varintField(3, 3)]),
  ]);
  assert.equal(encoded.toString('hex'), expected.toString('hex'));
});

test('response encodes byte for byte (ciphertexts field 1 of field 1; DAITA field 2)', () => {
  const ct1 = Buffer.alloc(1568, 0x55);
  const ct2 = Buffer.alloc(14421, 0x66);
  const encoded = registerPeerMethod().responseSerialize({
    post_quantum: { ciphertexts: [ct1, ct2] },
    daita: { client_machines: ['m1', 'm2'], max_padding_frac: 0.5, max_blocking_frac: 0.25 },
  });
  const expected = Buffer.from([
    ...lenField(1, [...lenField(1, ct1), ...lenField(1, ct2)]),
    ...lenField(2, [...lenField(1, str('m1')), ...lenField(1, str('m2')), ...doubleField(2, 0.5), ...doubleField(3, 0.25)]),
  ]);
  assert.equal(encoded.toString('hex'), expected.toString('hex'));
});

test('a request carrying DAITA fields decodes without loss', () => {
  const method = registerPeerMethod();
  const bytes = Buffer.from([
    ...lenField(1, parent),
    ...lenField(2, ephemeral),
    ...lenField(3, lenField(1, [...lenField(1, str('ML-KEM-1024')), ...lenField(2, mlkemKey)])),
    ...lenField(4, varintField(1, 1)),
    ...lenField(5, [...varintField(1, 7), ...varintField(2, 6), ...varintField(3, 10)]),
  ]);
  const decoded = method.requestDeserialize(bytes);
  assert.deepEqual(decoded.wg_parent_pubkey, parent);
  assert.deepEqual(decoded.wg_ephemeral_peer_pubkey, ephemeral);
  assert.equal(decoded.post_quantum?.kem_pubkeys.length, 1);
  assert.equal(decoded.post_quantum?.kem_pubkeys[0]?.algorithm_name, 'ML-KEM-1024');
  assert.deepEqual(decoded.post_quantum?.kem_pubkeys[0]?.key_data, mlkemKey);
  assert.deepEqual(decoded.daita, { activate_daita: true });
  assert.deepEqual(decoded.daita_v2, { version: 7, platform: 'windows_wg_go', level: 'level_10' });
  // and back again to the same bytes
  assert.equal(method.requestSerialize(decoded).toString('hex'), bytes.toString('hex'));
});

test('a response carrying DAITA fields round-trips without loss', () => {
  const method = registerPeerMethod();
  const value = {
    post_quantum: { ciphertexts: [Buffer.from([1, 2, 3]), Buffer.from([4])] },
    daita: { client_machines: ['a', 'b', 'c'], max_padding_frac: 0.125, max_blocking_frac: 1 / 3 },
  };
  assert.deepEqual(method.responseDeserialize(method.responseSerialize(value)), value);
});

test('absent sub-messages decode to null, empty lists stay distinguishable', () => {
  const method = registerPeerMethod();
  const bare = method.requestDeserialize(Buffer.from([...lenField(1, parent)]));
  assert.equal(bare.post_quantum, null);
  assert.equal(bare.daita, null);
  assert.equal(bare.daita_v2, null);
  assert.equal(bare.wg_ephemeral_peer_pubkey.length, 0);
  const emptyList = method.requestDeserialize(Buffer.from(lenField(3, [])));
  assert.deepEqual(emptyList.post_quantum, { kem_pubkeys: [] });
});

test('the built-in descriptor is proto/ephemeralpeer.proto, parsed (so editing one without the other fails here)', async () => {
  const { default: protobuf } = await import('protobufjs');
  const { EPHEMERALPEER_DESCRIPTOR } = await import('../../src/rpc/descriptor.js');
  const parsed = new protobuf.Root().loadSync(new URL('../../../proto/ephemeralpeer.proto', import.meta.url).pathname, { keepCase: true });
  // Through JSON text: protobufjs builds some of these objects without a prototype.
  const plain = (root: InstanceType<typeof protobuf.Root>): unknown => JSON.parse(JSON.stringify(root.toJSON()));
  assert.deepEqual(plain(protobuf.Root.fromJSON(EPHEMERALPEER_DESCRIPTOR)), plain(parsed));
});
