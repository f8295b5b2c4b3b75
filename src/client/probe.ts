/**
 * The real TunnelProbe: a UDP datagram to make WireGuard handshake, a TCP connect to show
 * the config service answers through the tunnel. Only ever aimed at the config service of
 * the hop being verified, i.e. at an address routed into that tunnel.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { PqpskError } from '../errors.js';
import type { TunnelProbe } from './verify.js';

/** `ip:port` or `[v6]:port` into its parts, with a labelled error. */
export function parseService(label: string, service: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(service);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port > 0 && port < 65536)) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected ip:port or [ipv6]:port, got ${JSON.stringify(service.slice(0, 60))}`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/** The production probe. */
export const netProbe: TunnelProbe = {
  poke(service) {
    const { host, port } = parseService('config service', service);
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise<void>((resolve) => {
      socket.on('error', () => {
        socket.close();
        resolve();
      });
      socket.send(new Uint8Array([0]), port, host, () => {
        socket.close();
        resolve();
      });
    });
  },

  connect(service, timeoutMs, signal) {
    const { host, port } = parseService('config service', service);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new PqpskError('TIMEOUT', `TCP connect to ${service}: called off`));
        return;
      }
      const socket = connect({ host, port });
      const end = (err: PqpskError | null): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if (err === null) resolve();
        else reject(err);
      };
      const onAbort = (): void => end(new PqpskError('TIMEOUT', `TCP connect to ${service}: called off`));
      const timer = setTimeout(() => end(new PqpskError('TIMEOUT', `TCP connect to ${service}: no answer within ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => end(null));
      socket.once('error', (err: NodeJS.ErrnoException) => end(new PqpskError('RPC_FAILURE', `TCP connect to ${service}: ${err.code ?? 'failed'}`)));
    });
  },
};

/**
 * Whether anything answers through the tunnel toward `service` within `timeoutMs`: a TCP
 * connection that opens, or one that is refused (the relay's kernel sent the refusal back
 * through the tunnel, so the tunnel works even with no config service listening). Only
 * silence means the tunnel is gone.
 */
export function tunnelAnswers(service: string, timeoutMs: number): Promise<boolean> {
  const { host, port } = parseService('config service', service);
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}
