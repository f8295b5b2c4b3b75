/**
 * Just enough IP arithmetic for the relay's authentication: which peer's allowed-ips
 * contain the address a request came from (longest prefix wins, as in WireGuard's
 * cryptokey routing table).
 */
import { PqpskError } from '../errors.js';

interface Parsed {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): string[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const last = groups[groups.length - 1] ?? '';
    if (last.includes('.')) {
      const v4 = parseIpv4(last);
      if (v4 === null) return null;
      groups.splice(groups.length - 1, 1, ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
    }
    return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? groups : null;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

function parseIp(text: string): Parsed | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(text.replace(/%.*$/, ''));
  return v6 === null ? null : { family: 6, value: v6 };
}

/** Prefix length of `cidr` if it contains `ip`, else -1. Malformed CIDRs never match. */
export function matchLength(cidr: string, ip: string): number {
  const slash = cidr.indexOf('/');
  const net = parseIp(slash === -1 ? cidr : cidr.slice(0, slash));
  const addr = parseIp(ip);
  if (net === null || addr === null || net.family !== addr.family) return -1;
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

/** The first IPv4 address of a list of CIDRs (an interface's tunnel address), or an error. */
export function firstIpv4(cidrs: readonly string[], label: string): string {
  for (const cidr of cidrs) {
    const ip = cidr.split('/')[0] ?? '';
    if (parseIpv4(ip) !== null) return ip;
  }
  throw new PqpskError('SETUP', `${label}: no IPv4 address`);
}

/**
 * The key of the peer whose allowed-ips route `ip`, by longest prefix — the peer whose
 * tunnel a packet from `ip` must have arrived through — or null.
 */
export function routeOwner(peers: readonly { readonly publicKey: string; readonly allowedIps: readonly string[] }[], ip: string): string | null {
  let best: { key: string; length: number } | null = null;
  for (const peer of peers) {
    for (const cidr of peer.allowedIps) {
      const length = matchLength(cidr, ip);
      if (length >= 0 && (best === null || length > best.length)) best = { key: peer.publicKey, length };
    }
  }
  return best?.key ?? null;
}
