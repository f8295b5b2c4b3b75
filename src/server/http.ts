/**
 * The operator's window: `GET /metrics` (Prometheus text) and `GET /healthz` on a
 * separate address from the EphemeralPeer service, so monitoring never needs a tunnel.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { PqpskError } from '../errors.js';
import type { HostPort } from './listen.js';

export interface MetricsEndpoints {
  /** The `/metrics` body. */
  metrics(): string;
  /** Whether `/healthz` answers 200 (serving) or 503 (starting or shutting down). */
  healthy(): boolean;
}

export interface MetricsServer {
  /** `host:port` as bound (port resolved when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** How long a scraper may take, and how many may be connected at once. */
export interface MetricsServerLimits {
  /** Whole request headers must arrive within this (also the keep-alive idle time). */
  readonly headersTimeoutMs: number;
  /** A whole request must arrive within this. */
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
}

export const DEFAULT_METRICS_LIMITS: MetricsServerLimits = Object.freeze({ headersTimeoutMs: 5000, requestTimeoutMs: 10_000, maxConnections: 64 });

/** Serve the endpoints on `where`. Fails with SETUP (one clear line) when it cannot bind. */
export async function startMetricsServer(where: HostPort, endpoints: MetricsEndpoints, limits: MetricsServerLimits = DEFAULT_METRICS_LIMITS): Promise<MetricsServer> {
  // Node checks these timeouts on a sweep (30 s by default): a tenth of the shortest one
  // makes them fire when they say, so slow clients cannot pile up between sweeps.
  const server: Server = createServer(
    { connectionsCheckingInterval: Math.max(50, Math.floor(limits.headersTimeoutMs / 10)), headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs },
    (req, res) => answer(req, res, endpoints),
  );
  server.keepAliveTimeout = limits.headersTimeoutMs;
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new PqpskError('SETUP', `cannot serve metrics on ${where.text}: ${bindReason(err)}`));
    };
    server.once('error', onError);
    server.listen({ host: where.host, port: where.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : where.port;
  return {
    address: where.host.includes(':') ? `[${where.host}]:${port}` : `${where.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function answer(req: IncomingMessage, res: ServerResponse, endpoints: MetricsEndpoints): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    return;
  }
  if (path === '/healthz') {
    const ok = endpoints.healthy();
    send(res, ok ? 200 : 503, 'text/plain; charset=utf-8', ok ? 'ok\n' : 'unavailable\n');
    return;
  }
  if (path === '/metrics') {
    let body: string;
    try {
      body = endpoints.metrics();
    } catch {
      send(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
      return;
    }
    send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', body);
    return;
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function bindReason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'no interface on this machine has that address';
    case 'EACCES':
      return 'permission denied';
    default:
      return err.code ?? 'bind failed';
  }
}
