/**
 * The relay's view of its peers, joined from its two secret-free reads: allowed-ips gives
 * the peer list, latest-handshakes the times. A join, not a parse: maps in, peers out.
 */
import type { WgPeerRoute } from './types.js';

/**
 * The join, a slice of peers at a time, as PerPeerParser parses (a join of 10 000 peers
 * makes 10 000 objects); a peer added between the two reads counts as never handshaken. The maps must not change while it runs (parsed maps never do).
 */
export class PeerRouteJoin {
  readonly #entries: IterableIterator<[string, readonly string[]]>;
  readonly #handshakes: ReadonlyMap<string, number>;
  readonly #routes: WgPeerRoute[] = [];
  #done = false;

  constructor(allowedIps: ReadonlyMap<string, readonly string[]>, handshakes: ReadonlyMap<string, number>) {
    this.#entries = allowedIps.entries();
    this.#handshakes = handshakes;
  }

  /** Join up to `maxPeers` more peers (at least one); true once every peer is joined. */
  step(maxPeers: number): boolean {
    for (let budget = Math.max(1, maxPeers); budget > 0 && !this.#done; budget--) {
      const next = this.#entries.next();
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const [publicKey, ips] = next.value;
      this.#routes.push({ publicKey, allowedIps: ips, latestHandshake: this.#handshakes.get(publicKey) ?? 0 });
    }
    return this.#done;
  }

  /** The peers joined so far: all of them once `step` returned true. */
  get result(): WgPeerRoute[] {
    return this.#routes;
  }
}
