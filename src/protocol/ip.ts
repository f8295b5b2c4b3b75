/**
 * Allowed-ips text as WireGuard treats it: a prefix defaults to /32 or /128, host bits
 * are masked off, and the result is printed the way `wg` prints it (dotted quad; IPv6
 * lower-case with the longest run of two or more zero groups shortened to `::`).
 * The fake WgControl uses this so its state reads back exactly like real WireGuard's,
 * and the argv builder uses it to refuse malformed input before a process is spawned.
 */
import { PqpskError } from '../errors.js';

/** A parsed prefix: `bytes` is 4 (IPv4) or 16 (IPv6) long, host bits already masked. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses `addr[/prefix]` the way `wg set … allowed-ips` does; INVALID_INPUT names the field. */
export function parseCidr(label: string, text: string): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIPv4(addrText) ?? parseIPv6(addrText);
  if (bytes === null) {
    throw new PqpskError('INVALID_INPUT', `${label}: not an IPv4 or IPv6 address`);
  }
  const max = bytes.length * 8;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new PqpskError('INVALID_INPUT', `${label}: prefix length must be 0..${max}`);
    }
    prefix = Number(p);
  }
  for (let bit = prefix; bit < max; bit++) {
    bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

/** The text `wg show` prints for this prefix. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.family === 4 ? formatIPv4(cidr.bytes) : formatIPv6(cidr.bytes)}/${cidr.prefix}`;
}

/** `parseCidr` then `formatCidr`: the canonical text WireGuard will report back. */
export function canonicalCidr(label: string, text: string): string {
  return formatCidr(parseCidr(label, text));
}

/**
 * Parses a dotted-quad IPv4 address, or returns null. A part with a leading zero is
 * refused, as inet_pton (and so `wg`) refuses it: inet_aton and the tools built on it
 * (ping, many resolvers) read `010` as octal 8, so the same text would name two addresses.
 */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    out[i] = Number(part);
  }
  return out;
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted quad), or returns null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const groups: number[] = [];
  const pushGroups = (list: string[], into: number[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (i === list.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === null) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) {
        into.push(parseInt(g, 16));
      } else {
        return false;
      }
    }
    return true;
  };
  const tailGroups: number[] = [];
  if (!pushGroups(head, groups)) return null;
  if (halves.length === 2 && head.some((g) => g.includes('.'))) return null;
  if (!pushGroups(tail, tailGroups)) return null;
  if (halves.length === 2) {
    const fill = 8 - groups.length - tailGroups.length;
    if (fill < 1) return null;
    for (let i = 0; i < fill; i++) groups.push(0);
  }
  groups.push(...tailGroups);
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // IPv4-mapped addresses print with a dotted tail, as inet_ntop does.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  if (groups.slice(0, 6).every((g) => g === 0) && groups[6] !== 0) {
    return `::${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
