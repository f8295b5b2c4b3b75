/**
 * Per-run names. UAPI sockets live in one shared directory (/var/run/wireguard/) whatever
 * the namespace, and interface names are at most 15 characters, so every namespace,
 * interface and veth carries the run's suffix, and names stay short: `pq` + role + suffix.
 */
import { randomBytes } from 'node:crypto';
import { PqpskError } from '../errors.js';

/** Where wireguard-go puts its UAPI sockets, shared by all namespaces (`ip netns exec` does not remount /var/run). */
export const UAPI_DIR = '/var/run/wireguard';

/** Prefix of every namespace a bed creates; lets an operator spot leftovers with `ip netns list`. */
export const NAMESPACE_PREFIX = 'pqpsk-';

const SUFFIX_RE = /^[a-z0-9]{1,8}$/;

/** A fresh random suffix: 6 characters of [a-z0-9]. */
export function newSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Throws unless `suffix` is 1-8 characters of [a-z0-9] (keeps every name within 15). */
export function checkSuffix(suffix: string): void {
  if (typeof suffix !== 'string' || !SUFFIX_RE.test(suffix)) {
    throw new PqpskError('INVALID_INPUT', 'test bed suffix: expected 1-8 characters from [a-z0-9]');
  }
}

/** `pqpsk-<suffix>-<role>`, e.g. `pqpsk-k3x9a1-relay`. */
export function namespaceName(suffix: string, role: string): string {
  return `${NAMESPACE_PREFIX}${suffix}-${role}`;
}

/** `pq<tag><suffix>` for interfaces and veths; `tag` is 1-3 characters (e.g. `wr`, `vc`). */
export function linkName(suffix: string, tag: string): string {
  const name = `pq${tag}${suffix}`;
  if (name.length > 15) throw new PqpskError('INTERNAL', `link name ${name} is longer than 15 characters`);
  return name;
}

/** The UAPI socket wireguard-go creates for `iface`. */
export function uapiSocket(iface: string): string {
  return `${UAPI_DIR}/${iface}.sock`;
}
