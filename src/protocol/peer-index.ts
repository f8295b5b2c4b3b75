/**
 * The relay's index of its interface's peers: by key and by the addresses they route,
 * updated peer by peer so a request or a tick reads the interface cheaply.
 */
import { PqpskError } from '../errors.js';
import { RouteIndex } from './cidr.js';
import type { WgPeerRoute } from './wg-peer.js';

/**
 * Peers by key and addresses by owner, reused by every request. Kept up to date peer by
 * peer (`put`, `delete`), so a read of an interface where little changed costs little;
 * `version` moves on every change, so a caller can tell that nothing did.
 */
export class PeerIndex {
  readonly #byKey: Map<string, WgPeerRoute>;
  readonly #routes: RouteIndex;
  #version = 0;

  constructor(peers: readonly WgPeerRoute[]) {
    this.#byKey = new Map(peers.map((p) => [p.publicKey, p]));
    this.#routes = new RouteIndex(peers);
  }

  get peers(): WgPeerRoute[] {
    return [...this.#byKey.values()];
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Moves on with every `put` or `delete` that changed something. */
  get version(): number {
    return this.#version;
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  /** Add a peer, or replace its line (allowed-ips and handshake). */
  put(peer: WgPeerRoute): void {
    const old = this.#byKey.get(peer.publicKey);
    if (old === peer) return;
    if (old === undefined || !sameList(old.allowedIps, peer.allowedIps)) {
      if (old !== undefined) this.#routes.remove(old);
      this.#routes.add(peer);
    }
    this.#byKey.set(peer.publicKey, peer);
    this.#version++;
  }

  delete(publicKey: string): void {
    const old = this.#byKey.get(publicKey);
    if (old === undefined) return;
    this.#routes.remove(old);
    this.#byKey.delete(publicKey);
    this.#version++;
  }

  /**
   * Note a peer added with no allowed-ips, or removed while holding none: a batch of
   * registrations plans each on the one index.
   */
  addUnrouted(publicKey: string): void {
    this.put({ publicKey, allowedIps: [], latestHandshake: 0 });
  }

  removeUnrouted(publicKey: string): void {
    if ((this.#byKey.get(publicKey)?.allowedIps.length ?? 0) > 0) {
      throw new PqpskError('INTERNAL', 'peer index: removing a peer that holds addresses needs a rebuild');
    }
    this.delete(publicKey);
  }

  get(key: string): WgPeerRoute | undefined {
    return this.#byKey.get(key);
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** The peer whose allowed-ips route `ip` (longest prefix), or null. */
  routeOwner(ip: string): string | null {
    return this.#routes.owner(ip);
  }

  /** The peer holding exactly this allowed-ip entry, or null. */
  holderOf(cidr: string): string | null {
    return this.#routes.holderOf(cidr);
  }
}

/** The same entries in the same order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The index the planners and authentication work on: the caller's, or one built from a list. */
export function asIndex(view: PeerIndex | readonly WgPeerRoute[]): PeerIndex {
  return view instanceof PeerIndex ? view : new PeerIndex(view);
}
