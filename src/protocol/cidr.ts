/**
 * Just enough IP arithmetic for the relay's authentication: which peer's allowed-ips
 * contain the address a request came from (longest prefix wins, as in WireGuard's
 * cryptokey routing table).
 */
import { parseIPv4, parseIPv6 } from './ip.js';

interface Parsed {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function parseIp(text: string): Parsed | null {
  const bytes = parseIPv4(text) ?? parseIPv6(text.replace(/%.*$/, ''));
  if (bytes === null) return null;
  const value = bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

/** Prefix length of `cidr` if it contains `ip`, else -1. Malformed CIDRs never match. */
export function matchLength(cidr: string, ip: string): number {
  const addr = parseIp(ip);
  return addr === null ? -1 : matchParsed(cidr, addr);
}

function matchParsed(cidr: string, addr: Parsed): number {
  const slash = cidr.indexOf('/');
  const net = parseIp(slash === -1 ? cidr : cidr.slice(0, slash));
  if (net === null || net.family !== addr.family) return -1;
  const bits = net.family === 4 ? 32 : 128;
  const prefix = slash === -1 ? bits : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return -1;
  const shift = BigInt(bits - prefix);
  return net.value >> shift === addr.value >> shift ? prefix : -1;
}

/** Is `ip` a well-formed IPv4 or IPv6 address? */
export function isIp(text: string): boolean {
  return parseIp(text) !== null;
}

/**
 * The key of the peer whose allowed-ips route `ip`, by longest prefix — the peer whose
 * tunnel a packet from `ip` must have arrived through — or null.
 */
export function routeOwner(peers: readonly { readonly publicKey: string; readonly allowedIps: readonly string[] }[], ip: string): string | null {
  const addr = parseIp(ip);
  if (addr === null) return null;
  // A relay has one host route per client, so most entries are settled without parsing:
  // another family cannot match, and an IPv4 /32 matches only its own dotted quad (both
  // `wg` and the kernel print IPv4 canonically).
  const hostRoute = addr.family === 4 ? `${ip}/32` : null;
  let best: { key: string; length: number } | null = null;
  for (const peer of peers) {
    for (const cidr of peer.allowedIps) {
      if (cidr.includes(':') !== (addr.family === 6)) continue;
      const length = hostRoute !== null && cidr.endsWith('/32') ? (cidr === hostRoute ? 32 : -1) : matchParsed(cidr, addr);
      if (length >= 0 && (best === null || length > best.length)) best = { key: peer.publicKey, length };
    }
  }
  return best?.key ?? null;
}

interface RoutedPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
}

/**
 * `routeOwner` precomputed for many lookups against one view: host routes (one per
 * client on a relay) go in a map keyed by the address's numeric value, so a lookup is
 * one parse and one map probe; the few wider prefixes are scanned, longest first.
 * Kept up to date peer by peer (`add`, `remove`), so a change costs what it changes.
 * Allowed-ips are unique per interface; while a change moves an entry from one peer to
 * another, whichever order the two are applied in, the entry ends with its new holder.
 */
export class RouteIndex {
  readonly #hosts = new Map<string, string>();
  /** Longest prefix first. */
  #wide: { readonly cidr: string; readonly key: string; readonly length: number }[] = [];
  readonly #entries = new Map<string, string>();

  constructor(peers: readonly RoutedPeer[]) {
    for (const peer of peers) this.add(peer);
  }

  /** Route `peer`'s allowed-ips to it. */
  add(peer: RoutedPeer): void {
    for (const cidr of peer.allowedIps) {
      this.#entries.set(cidr, peer.publicKey);
      const route = routeOf(cidr);
      if (route === null) continue;
      if (route.host !== null) {
        this.#hosts.set(route.host, peer.publicKey);
      } else {
        const at = this.#wide.findIndex((w) => w.length < route.length);
        this.#wide.splice(at < 0 ? this.#wide.length : at, 0, { cidr, key: peer.publicKey, length: route.length });
      }
    }
  }

  /** Stop routing `peer`'s allowed-ips (as they were added) to it; entries another peer took since stay. */
  remove(peer: RoutedPeer): void {
    let wide = false;
    for (const cidr of peer.allowedIps) {
      if (this.#entries.get(cidr) === peer.publicKey) this.#entries.delete(cidr);
      const route = routeOf(cidr);
      if (route === null) continue;
      if (route.host === null) wide = true;
      else if (this.#hosts.get(route.host) === peer.publicKey) this.#hosts.delete(route.host);
    }
    if (wide) {
      const mine = new Set(peer.allowedIps);
      this.#wide = this.#wide.filter((w) => w.key !== peer.publicKey || !mine.has(w.cidr));
    }
  }

  /** The key whose allowed-ips route `ip` by longest prefix, or null. */
  owner(ip: string): string | null {
    const addr = parseIp(ip);
    if (addr === null) return null;
    const host = this.#hosts.get(hostKey(addr));
    if (host !== undefined) return host;
    for (const w of this.#wide) if (matchParsed(w.cidr, addr) >= 0) return w.key;
    return null;
  }

  /** The key holding exactly this allowed-ips entry (as `wg` prints it), or null. */
  holderOf(cidr: string): string | null {
    return this.#entries.get(cidr) ?? null;
  }
}

function hostKey(addr: Parsed): string {
  return `${addr.family}:${addr.value}`;
}

/** A CIDR as the index files it: a host route's map key, or a wider prefix's length; null if malformed. */
function routeOf(cidr: string): { readonly host: string | null; readonly length: number } | null {
  const slash = cidr.indexOf('/');
  const net = parseIp(slash === -1 ? cidr : cidr.slice(0, slash));
  if (net === null) return null;
  const bits = net.family === 4 ? 32 : 128;
  const length = slash === -1 ? bits : Number(cidr.slice(slash + 1));
  return length === bits ? { host: hostKey(net), length } : { host: null, length };
}
