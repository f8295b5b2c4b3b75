/**
 * Who may register: a request's parent is the key of the tunnel it travels in. One rule,
 * pure: the book and the interface's peers in, the normal parent's key or a refusal out.
 */
import { PqpskError } from '../errors.js';
import { NEVER, classifyEphemeral } from './ephemeral-state.js';
import { asIndex, type PeerIndex } from './peer-index.js';
import type { RelayBook } from './relay-book.js';
import type { WgPeerRoute } from './wg-peer.js';

/** Rules an operator can relax. */
export interface AuthPolicy {
  /**
   * Accept a parent whose allowed-ips include a prefix wider than one host. Off by
   * default: a peer with 0.0.0.0/0 or a site's subnet would authenticate any source
   * that reaches the service from outside the tunnel.
   */
  readonly allowWideParents: boolean;
}

/** The default policy: host routes only. */
export const STRICT_AUTH: AuthPolicy = Object.freeze({ allowWideParents: false });

/** The one refusal for every failed check: unknown and wrong parents look alike to the caller. */
export function deniedError(): PqpskError {
  return new PqpskError('PERMISSION_DENIED', 'parent key does not match the tunnel of the request');
}

/** Is every entry a single host (IPv4 /32, IPv6 /128)? */
export function hostRoutesOnly(allowedIps: readonly string[]): boolean {
  return allowedIps.every((ip) => (ip.includes(':') ? ip.endsWith('/128') : ip.endsWith('/32')));
}

/**
 * Authenticate a request: the parent is the key of the tunnel it travels in, so `sourceIp`
 * must be routed (longest prefix) to the claimed parent or to a live ephemeral of it.
 * The claim may name a live ephemeral (a client negotiating again from its ephemeral key
 * sends that key); it resolves to its normal parent. Returns the normal parent's key.
 * Unknown and wrong parents fail alike, and so does a tunnel with wider than host routes
 * unless the policy allows it.
 */
export function authenticate(
  book: RelayBook,
  view: PeerIndex | readonly WgPeerRoute[],
  claimedParent: string,
  sourceIp: string,
  policy: AuthPolicy = STRICT_AUTH,
): string {
  const index = asIndex(view);
  const tunnel = index.routeOwner(sourceIp);
  if (tunnel === null) throw deniedError();
  const tunnelPeer = index.get(tunnel);
  if (tunnelPeer === undefined || (!policy.allowWideParents && !hostRoutesOnly(tunnelPeer.allowedIps))) throw deniedError();
  const claimedEphemeral = book.ephemerals.find((e) => e.ephemeral === claimedParent);
  const parent = claimedEphemeral?.parent ?? claimedParent;
  const parentPeer = index.get(parent);
  if (parentPeer === undefined) throw deniedError();
  if (!policy.allowWideParents && !hostRoutesOnly(parentPeer.allowedIps)) throw deniedError();
  if (claimedEphemeral !== undefined && tunnel !== claimedParent) throw deniedError();
  if (tunnel === parent) return parent;
  const record = book.ephemerals.find((e) => e.parent === parent && e.ephemeral === tunnel);
  if (record === undefined) throw deniedError();
  const given = new Set(book.parents.find((p) => p.parent === parent)?.allowedIps ?? []);
  if (classifyEphemeral(record, tunnelPeer, given, 0, NEVER) !== 'live') throw deniedError();
  return parent;
}
