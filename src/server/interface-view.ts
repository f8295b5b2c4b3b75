/**
 * The relay's cached picture of its interface: every peer's key, allowed-ips and latest
 * handshake, indexed for authentication. Requests authenticate against this cache, so a
 * refused request costs a map lookup, never a `wg` process or a parse of every peer; the
 * cache is re-read by the watcher and under the lock, just before anything is changed.
 * Only secret-free reads are used (see WgRouteReader).
 */
import { PeerIndex, sameList } from '../protocol/peer-index.js';
import type { WgPeerRoute } from '../protocol/wg-peer.js';
import { yieldToEventLoop } from '../yield.js';
import type { RelayWg, WgPeerChange } from '../wg/types.js';
import type { Clock } from './clock.js';

/** How long the interface's own public key is trusted before it is read again. */
const OWN_KEY_TTL_MS = 30_000;

/** Peers installed per task by `installInSlices`: about a millisecond of event loop. */
export const INSTALL_SLICE = 2000;

export class InterfaceView {
  readonly #wg: RelayWg;
  readonly #iface: string;
  readonly #clock: Clock;
  #index = new PeerIndex([]);
  #ownKey = '';
  #ownKeyAt = Number.NEGATIVE_INFINITY;
  #fullReadAt = Number.NEGATIVE_INFINITY;
  /** Per peer: the handshake second last read, and when we first saw that value. Bounded by the interface's peers. */
  readonly #seen = new Map<string, { seconds: number; observedMs: number }>();
  /** The last handshakes-only read installed, and the index's version right after. */
  #lastHandshakes: { readonly map: ReadonlyMap<string, number>; readonly version: number } | undefined;

  constructor(wg: RelayWg, iface: string, clock: Clock) {
    this.#wg = wg;
    this.#iface = iface;
    this.#clock = clock;
  }

  /** The last read, with what the relay changed since applied to it. */
  get index(): PeerIndex {
    return this.#index;
  }

  /** When the cache last came from a full read (allowed-ips included), on the clock. */
  get fullReadAt(): number {
    return this.#fullReadAt;
  }

  /**
   * Stop trusting the cache until the next full read: a `wg set` failed, so the interface
   * may hold part of it, and nothing may be planned on the cache as if it did not.
   */
  distrust(): void {
    this.#fullReadAt = Number.NEGATIVE_INFINITY;
  }

  /** The interface's own public key as last read. */
  get ownKey(): string {
    return this.#ownKey;
  }

  /** Re-read the interface's public key when the cached one is old (or `force`). */
  async refreshOwnKey(force = false): Promise<string> {
    const now = this.#clock.now();
    if (force || now - this.#ownKeyAt > OWN_KEY_TTL_MS) {
      this.#ownKey = await this.#wg.publicKey(this.#iface);
      this.#ownKeyAt = now;
    }
    return this.#ownKey;
  }

  /** Read every peer again; the new index replaces the cache (installed in slices). */
  async refresh(): Promise<PeerIndex> {
    return this.installInSlices(await this.read());
  }

  /**
   * The cache as it stands when its last full read is at most `maxAgeMs` old (what the
   * relay changed since is applied to it), else a fresh read. Use it under the lock.
   */
  async recent(maxAgeMs: number): Promise<PeerIndex> {
    if (this.#clock.now() - this.#fullReadAt <= maxAgeMs) return this.#index;
    return this.refresh();
  }

  /**
   * Read every peer without touching the cache: a caller may read outside the lock and
   * install the result under it, if nothing changed the interface in between.
   */
  read(): Promise<WgPeerRoute[]> {
    return this.#wg.peerRoutes(this.#iface);
  }

  /**
   * Make a read the cache, `slice` peers per task with the event loop let in between.
   * Only what differs from the cached index is changed in it, so a read of 10 000 peers
   * of which a few changed costs a comparison per peer, and the index keeps its entries
   * (and its `version`) for the rest. Between slices the index holds some peers as read
   * and the rest as before, each peer whole: requests that authenticate on it meanwhile
   * see a cache a moment staler for some peers, which is what a cache is anyway; whatever
   * changes the interface holds the lock, as the caller does, and re-authenticates on the
   * finished index.
   */
  async installInSlices(peers: readonly WgPeerRoute[], slice = INSTALL_SLICE): Promise<PeerIndex> {
    const now = this.#clock.now();
    this.#fullReadAt = now;
    for (let from = 0; from < peers.length; from += slice) {
      if (from > 0) await yieldToEventLoop();
      this.#installRange(peers, from, Math.min(peers.length, from + slice), now);
    }
    if (this.#index.size !== peers.length) await yieldToEventLoop();
    this.#dropAbsent(peers);
    return this.#index;
  }

  #installRange(peers: readonly WgPeerRoute[], from: number, to: number, now: number): void {
    const index = this.#index;
    for (let i = from; i < to; i++) {
      const p = peers[i]!;
      const latestHandshake = this.#refineHandshake(p.publicKey, p.latestHandshake, now);
      const old = index.get(p.publicKey);
      if (old !== undefined && old.latestHandshake === latestHandshake && sameList(old.allowedIps, p.allowedIps)) continue;
      index.put({ publicKey: p.publicKey, allowedIps: p.allowedIps, latestHandshake });
    }
  }

  /**
   * After every peer read is in the index (keys are unique per interface), the same
   * count means the same set; otherwise drop the peers the read did not list.
   * (`#seen` holds only keys of the index: removals delete from both.)
   */
  #dropAbsent(peers: readonly WgPeerRoute[]): void {
    const index = this.#index;
    if (index.size === peers.length) return;
    const present = new Set(peers.map((p) => p.publicKey));
    for (const key of index.keys()) if (!present.has(key)) index.delete(key);
    for (const key of this.#seen.keys()) if (!present.has(key)) this.#seen.delete(key);
  }

  /**
   * Read latest handshakes alone — one `wg` process and the smaller half of a full read —
   * for `installHandshakes`; the caller may read outside the lock, as with `read`.
   */
  readHandshakes(): Promise<ReadonlyMap<string, number>> {
    return this.#wg.latestHandshakes(this.#iface);
  }

  /**
   * Take a handshakes-only read into the cache, keeping the cached allowed-ips, when it
   * lists exactly the cached peers; null (nothing changed) when a peer came or went, so
   * the caller reads everything. Allowed-ips the operator changed since the last full
   * read are not seen here: whatever acts on the cache's allowed-ips reads fully first
   * when that read is older than the relay accepts (a few seconds, see `recent`).
   * `slice` peers per task, as `installInSlices`; a read that is the very map installed
   * last (an unchanged output, see PerPeerParser) onto an index unchanged since costs nothing.
   */
  async installHandshakes(handshakes: ReadonlyMap<string, number>, slice = INSTALL_SLICE): Promise<PeerIndex | null> {
    const index = this.#index;
    const last = this.#lastHandshakes;
    if (last !== undefined && last.map === handshakes && last.version === index.version) return index;
    if (handshakes.size !== index.size) return null;
    let i = 0;
    for (const key of handshakes.keys()) {
      if (!index.has(key)) return null;
      if (++i % slice === 0) await yieldToEventLoop();
    }
    await yieldToEventLoop();
    const now = this.#clock.now();
    i = 0;
    for (const [key, seconds] of handshakes) {
      if (i > 0 && i % slice === 0) await yieldToEventLoop();
      i++;
      const old = index.get(key)!;
      const latestHandshake = this.#refineHandshake(key, seconds, now);
      if (old.latestHandshake !== latestHandshake) index.put({ ...old, latestHandshake });
    }
    this.#lastHandshakes = { map: handshakes, version: index.version };
    return index;
  }

  /** What the interface looks like after a successful `wg set` (allowed-ips are unique per interface). */
  apply(changes: readonly WgPeerChange[]): void {
    const index = this.#index;
    for (const c of changes) {
      if (c.remove === true) {
        index.delete(c.publicKey);
        this.#seen.delete(c.publicKey);
        continue;
      }
      const old = index.get(c.publicKey) ?? { publicKey: c.publicKey, allowedIps: [], latestHandshake: 0 };
      if (c.allowedIps === undefined) {
        index.put(old);
        continue;
      }
      for (const ip of c.allowedIps) {
        const holder = index.get(index.holderOf(ip) ?? '');
        if (holder !== undefined && holder.publicKey !== c.publicKey) {
          index.put({ ...holder, allowedIps: holder.allowedIps.filter((held) => held !== ip) });
        }
      }
      index.put({ ...old, allowedIps: [...c.allowedIps] });
    }
  }

  /**
   * `wg` reports handshakes in whole seconds, so a client that switches to its ephemeral
   * key and back to its parent within one second leaves a tie, which planTick, until the
   * peers' counters (or the kernel's frame errors) tell, gives to the ephemeral — and the parent's traffic would stay
   * dead until its next handshake.
   * We know more than `wg` says: the order in which we *saw* each value change. Within
   * its second, each handshake gets the fraction of when we first saw it (never moved
   * into another second), so the one seen later wins; a change seen in the same poll
   * stays a tie.
   */
  #refineHandshake(publicKey: string, seconds: number, now: number): number {
    if (seconds === 0) {
      this.#seen.delete(publicKey);
      return 0;
    }
    let seen = this.#seen.get(publicKey);
    if (seen === undefined || seen.seconds !== seconds) {
      seen = { seconds, observedMs: now };
      this.#seen.set(publicKey, seen);
    }
    return seen.seconds + Math.min(0.999, Math.max(0, seen.observedMs / 1000 - seen.seconds));
  }
}
