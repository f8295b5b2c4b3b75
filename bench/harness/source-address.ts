/**
 * Calls from a chosen loopback source address. The relay authenticates a request by the
 * address it comes from (the parent's allowed-ips), so filling a relay with thousands of
 * parents needs thousands of source addresses, and grpc-js cannot bind a client's local
 * address. So the call goes through the production client (src/rpc) to a one-call TCP
 * forwarder on 127.0.0.1, which opens the connection to the relay from `source`: the
 * bytes are gRPC's own, only the socket is bound. Loopback addresses only.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { PqpskError } from '../../src/errors.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import type { RegisterRequestInput, WireRegisterResponse } from '../../src/rpc/proto.js';

/** The i-th parent's source address: 127.1.x.y with y in 1..250 (0 ≤ i < 62 500). */
export function sourceAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 250 * 250) throw new PqpskError('INVALID_INPUT', `source address index: expected 0..62499, got ${i}`);
  return `127.1.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/**
 * RegisterPeerV1 on `target` (`127.x.y.z:port`) from `source` (a loopback address),
 * through src/rpc's client. Rejects as that client does (RPC_FAILURE naming the status).
 */
export async function callFromSource(target: string, source: string, request: RegisterRequestInput, timeoutMs = 30_000): Promise<WireRegisterResponse> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  if (!host.startsWith('127.') || !source.startsWith('127.')) {
    throw new PqpskError('INVALID_INPUT', 'bench client: loopback addresses only');
  }
  const sockets = new Set<Socket>();
  const forwarder = createServer((inbound) => {
    const outbound = connect({ host, port, localAddress: source });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      // Either side closing or failing ends both: the call then fails in the client.
      s.once('close', () => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(s);
      });
      s.on('error', () => s.destroy());
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    forwarder.once('error', reject);
    forwarder.listen(0, '127.0.0.1', resolve);
  });
  try {
    const via = `127.0.0.1:${(forwarder.address() as AddressInfo).port}`;
    return await callRegisterPeer(via, request, { deadline: Date.now() + timeoutMs });
  } finally {
    forwarder.close();
    for (const s of sockets) s.destroy();
  }
}
