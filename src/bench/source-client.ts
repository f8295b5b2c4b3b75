/**
 * One RegisterPeerV1 call from a chosen loopback source address. The relay authenticates
 * a request by the address it comes from (the parent's allowed-ips), so filling a relay
 * with thousands of parents needs thousands of source addresses; grpc-js cannot bind a
 * client's local address, so this speaks gRPC's HTTP/2 framing directly with node:http2
 * over a socket bound to `source`. Benchmark use only: 127.0.0.0/8 targets, one fresh
 * connection per call (as a real client makes), the production (de)serializers.
 */
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { PqpskError } from '../errors.js';
import { registerPeerMethod, type RegisterRequestInput, type WireRegisterResponse } from '../rpc/proto.js';

/** gRPC status codes we name; the rest are reported by number. */
const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  3: 'INVALID_ARGUMENT',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
};

/**
 * Call RegisterPeerV1 on `target` (`127.x.y.z:port`) from `source` (a loopback address).
 * Resolves with the decoded answer; rejects with RPC_FAILURE naming the gRPC status.
 */
export function callFromSource(target: string, source: string, request: RegisterRequestInput, timeoutMs = 30_000): Promise<WireRegisterResponse> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  if (!host.startsWith('127.') || !source.startsWith('127.')) {
    throw new PqpskError('INVALID_INPUT', 'bench client: loopback addresses only');
  }
  const method = registerPeerMethod();
  const message = method.requestSerialize(request);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);

  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://${target}`, {
      createConnection: () => netConnect({ host, port, localAddress: source }),
    });
    const timer = setTimeout(() => finish(new PqpskError('TIMEOUT', `bench client: no answer within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    const finish = (err: Error | null, value?: WireRegisterResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      if (err !== null) {
        session.destroy();
        reject(err);
      } else {
        resolve(value!);
      }
    };
    session.on('error', (err) => finish(new PqpskError('RPC_FAILURE', `bench client: ${err.message}`)));
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: method.path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on('response', (headers) => {
      // A trailers-only answer (an error) carries grpc-status in the headers.
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      if (trailers['grpc-status'] !== undefined) status = String(trailers['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (err) => finish(new PqpskError('RPC_FAILURE', `bench client: ${err.message}`)));
    stream.on('close', () => {
      const code = Number(status ?? Number.NaN);
      if (code !== 0) {
        const name = GRPC_STATUS_NAMES[code] ?? `status ${status ?? 'missing'}`;
        finish(new PqpskError('RPC_FAILURE', `relay answered ${name}`));
        return;
      }
      const body = Buffer.concat(chunks);
      if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
        finish(new PqpskError('RPC_FAILURE', 'bench client: malformed gRPC frame'));
        return;
      }
      try {
        finish(null, method.responseDeserialize(body.subarray(5)));
      } catch {
        finish(new PqpskError('RPC_FAILURE', 'bench client: undecodable answer'));
      }
    });
    stream.end(frame);
  });
}

/** The i-th parent's source address: 127.1.x.y with y in 1..250 (0 ≤ i < 62 500). */
export function sourceAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 250 * 250) throw new PqpskError('INVALID_INPUT', `source address index: expected 0..62499, got ${i}`);
  return `127.1.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}
