/**
 * One WireGuard interface as the `wg` stand-ins keep it, what `wg show` prints for it and
 * what a `wg set` argv does to it. Two stand-ins share it: the benchmark's persistent
 * server (wg-standin.ts), which holds the interface in memory for the life of a relay, and
 * the test fixture test/fixtures/fake-wg/wg, which keeps it in a JSON file between runs.
 *
 * The text is wg(8)'s: `show <if> public-key | private-key` print a key or `(none)`;
 * `allowed-ips` prints `<key>\t<cidr> <cidr>…` (or `(none)`), `latest-handshakes`
 * `<key>\t<seconds>`, `preshared-keys` `<key>\t<psk>` per peer; `dump` is the
 * tab-separated interface line then one line per peer; `show <if>` alone is the form for
 * people, with keys printed `(hidden)` unless WG_HIDE_KEYS=never.
 *
 * As in WireGuard, an allowed-ip belongs to one peer at a time: giving it to a peer takes
 * it from whichever peer held it. An allowed-ip → holder index and a Map of peers by
 * public key make a change cost what it changes, never a scan of every peer, so a relay
 * can run with tens of thousands of peers on it.
 */

/** A peer as the state file stores it. */
export interface StandinPeerRecord {
  readonly publicKey: string;
  /** The PSK as `wg` would print it (base64), or null for none. */
  readonly psk: string | null;
  readonly allowedIps: readonly string[];
  /** Unix seconds; 0 = never. */
  readonly latestHandshake: number;
}

/** The state file's shape (and the seed the benchmark's server starts from). */
export interface StandinRecord {
  readonly publicKey: string | null;
  readonly privateKey: string | null;
  readonly peers: readonly StandinPeerRecord[];
}

interface Peer {
  psk: string | null;
  allowedIps: string[];
  latestHandshake: number;
}

const NONE = '(none)';

/** The `wg show <if> <what>` forms whose output carries a private key or a PSK. */
export const SECRET_SHOW_FORMS: ReadonlySet<string> = new Set(['dump', 'preshared-keys', 'private-key']);

/** One interface: its keys and its peers, in the order they were added (as `wg` prints them). */
export class StandinInterface {
  publicKey: string | null;
  privateKey: string | null;
  readonly #peers = new Map<string, Peer>();
  /** allowed-ip → the public key of the peer holding it. */
  readonly #holder = new Map<string, string>();

  constructor(record: StandinRecord) {
    this.publicKey = record.publicKey;
    this.privateKey = record.privateKey;
    for (const p of record.peers) {
      const peer = this.#peer(p.publicKey);
      peer.psk = p.psk;
      peer.latestHandshake = p.latestHandshake;
      this.#assign(p.publicKey, peer, [...p.allowedIps]);
    }
  }

  get size(): number {
    return this.#peers.size;
  }

  /** What to write back to a state file. */
  toRecord(): StandinRecord {
    const peers = [...this.#peers].map(([publicKey, p]) => ({ publicKey, psk: p.psk, allowedIps: p.allowedIps, latestHandshake: p.latestHandshake }));
    return { publicKey: this.publicKey, privateKey: this.privateKey, peers };
  }

  /**
   * What `wg show <iface> [what]` prints, or null for a form this stand-in does not know.
   * `hideKeys` is what WG_HIDE_KEYS asks of the form for people.
   */
  show(iface: string, what: string | undefined, hideKeys: boolean): string | null {
    const out: string[] = [];
    const none = (v: string | null): string => (v === null || v === '' ? NONE : v);
    const ips = (p: Peer, sep: string): string => (p.allowedIps.length === 0 ? NONE : p.allowedIps.join(sep));
    switch (what) {
      case undefined: {
        const shown = (key: string | null): string => (hideKeys ? '(hidden)' : none(key));
        out.push(`interface: ${iface}`);
        if (this.publicKey !== null && this.publicKey !== '') out.push(`  public key: ${this.publicKey}`, `  private key: ${shown(this.privateKey)}`);
        out.push('  listening port: 51820');
        for (const [key, p] of this.#peers) {
          out.push('', `peer: ${key}`);
          if (p.psk !== null && p.psk !== '') out.push(`  preshared key: ${shown(p.psk)}`);
          out.push(`  allowed ips: ${ips(p, ', ')}`);
        }
        break;
      }
      case 'public-key':
        out.push(none(this.publicKey));
        break;
      case 'private-key':
        out.push(none(this.privateKey));
        break;
      case 'allowed-ips':
        for (const [key, p] of this.#peers) out.push(`${key}\t${ips(p, ' ')}`);
        break;
      case 'latest-handshakes':
        for (const [key, p] of this.#peers) out.push(`${key}\t${p.latestHandshake}`);
        break;
      case 'preshared-keys':
        for (const [key, p] of this.#peers) out.push(`${key}\t${none(p.psk)}`);
        break;
      case 'dump':
        out.push(`${none(this.privateKey)}\t${none(this.publicKey)}\t51820\toff`);
        for (const [key, p] of this.#peers) out.push(`${key}\t${none(p.psk)}\t(none)\t${ips(p, ',')}\t${p.latestHandshake}\t0\t0\toff`);
        break;
      default:
        return null;
    }
    return out.map((l) => `${l}\n`).join('');
  }

  /**
   * Applies the words after `wg set <iface>`: `private-key P`, then per peer `peer K`
   * with `remove`, `preshared-key P`, `endpoint E`, `persistent-keepalive N` or
   * `allowed-ips L`. `keyText(P)` is what was read from key path P ('' = empty: no key).
   */
  set(words: readonly string[], keyText: (path: string) => string): void {
    let key: string | null = null;
    let peer: Peer | null = null;
    for (let i = 0; i < words.length; i++) {
      const word = words[i];
      const value = words[i + 1] ?? '';
      if (word === 'private-key') {
        i++;
        const text = keyText(value).trim();
        this.privateKey = text === '' ? null : text;
      } else if (word === 'peer') {
        i++;
        key = value;
        peer = this.#peer(value);
      } else if (word === 'remove' && key !== null && peer !== null) {
        this.#assign(key, peer, []);
        this.#peers.delete(key);
        key = null;
        peer = null;
      } else if (word === 'preshared-key' && peer !== null) {
        i++;
        const text = keyText(value).trim();
        peer.psk = text === '' ? null : text;
      } else if (word === 'allowed-ips' && key !== null && peer !== null) {
        i++;
        this.#assign(key, peer, value.split(',').filter((x) => x !== ''));
      } else if (word === 'endpoint' || word === 'persistent-keepalive') {
        i++;
      }
    }
  }

  /** Sets a peer's handshake time (the benchmark's stand-in for traffic). */
  setLatestHandshake(publicKey: string, seconds: number): void {
    const peer = this.#peers.get(publicKey);
    if (peer !== undefined) peer.latestHandshake = seconds;
  }

  #peer(publicKey: string): Peer {
    let peer = this.#peers.get(publicKey);
    if (peer === undefined) {
      peer = { psk: null, allowedIps: [], latestHandshake: 0 };
      this.#peers.set(publicKey, peer);
    }
    return peer;
  }

  /** Gives `ips` to the peer, taking each from its previous holder, and frees what it held before. */
  #assign(publicKey: string, peer: Peer, ips: string[]): void {
    for (const ip of peer.allowedIps) if (this.#holder.get(ip) === publicKey) this.#holder.delete(ip);
    for (const ip of ips) {
      const previous = this.#holder.get(ip);
      if (previous !== undefined && previous !== publicKey) {
        const other = this.#peers.get(previous);
        if (other !== undefined) other.allowedIps = other.allowedIps.filter((x) => x !== ip);
      }
      this.#holder.set(ip, publicKey);
    }
    peer.allowedIps = ips;
  }
}
