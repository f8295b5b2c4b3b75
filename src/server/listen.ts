/**
 * Listen addresses of `pqpsk server`. The service listens on the WireGuard interface's
 * own tunnel address by default — reachable only through the tunnel, which is what
 * authenticates a request — and on all addresses only when an operator writes so.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { PqpskError } from '../errors.js';
import { isIp } from '../protocol/cidr.js';

/** The port Mullvad's relays serve EphemeralPeer on, inside the tunnel. */
export const DEFAULT_SERVICE_PORT = 1337;

/** A parsed `ip:port` (IPv6 as `[addr]:port`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** As gRPC wants it: `1.2.3.4:5`, `[::1]:5`. */
  readonly text: string;
}

/** Parse `ip:port` or `[ipv6]:port`; port 0 means "any free port" (tests). */
export function parseHostPort(label: string, text: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (m === null || host === undefined || !isIp(host) || !Number.isInteger(port) || port > 65_535) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected ip:port such as 10.64.0.1:1337 or [fc00::1]:1337, got ${describe(text)}`);
  }
  return { host, port, text: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

/**
 * The default listen address: the first IPv4 address of `iface`, port 1337. Read from
 * the kernel's address list (no process spawned). NOT_FOUND when the interface does not
 * exist, SETUP when it has no IPv4 address.
 */
export function defaultListenAddress(
  iface: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): HostPort {
  const addresses = interfaces[iface];
  if (addresses === undefined) {
    throw new PqpskError('NOT_FOUND', `no network interface ${iface} that is up with an address; bring it up or pass --listen ip:port`);
  }
  const v4 = addresses.find((a) => a.family === 'IPv4');
  if (v4 === undefined) {
    throw new PqpskError('SETUP', `interface ${iface} has no IPv4 address; give one or pass --listen ip:port`);
  }
  return parseHostPort('default listen address', `${v4.address}:${DEFAULT_SERVICE_PORT}`);
}

function describe(text: unknown): string {
  if (typeof text !== 'string') return typeof text;
  const shown = text.length > 48 ? `${text.slice(0, 48)}…` : text;
  return `"${shown.replace(/[^\x20-\x7e…]/g, '?')}"`;
}
