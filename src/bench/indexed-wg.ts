/**
 * An in-memory WgControl for the 10 000-peer memory figure. The test double
 * (src/wg/fake.ts) strips every new allowed-ip from every other peer, allocating a new
 * array per peer per address: loading 10 000 live ephemerals through it takes ~2 s and
 * leaves ~55 MB of V8 old-space high-water in the process that measures the relay —
 * a cost of the test double, not of the relay. This one keeps an allowed-ip → owner index,
 * so a change costs what it changes; `show` still copies every peer, as `wg show dump`
 * output must be parsed whole. It models what the relay relies on: one interface, peers
 * with PSKs, allowed-ips unique per interface (moving an address takes it from its
 * holder), handshake times the bench sets.
 */
import { PqpskError } from '../errors.js';
import { canonicalCidr } from '../protocol/ip.js';
import { clampPrivateKey, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import type { RelayWg, WgControl, WgInterfaceState, WgPeerChange, WgPeerRoute } from '../wg/types.js';

interface Peer {
  readonly publicKey: string;
  psk: Uint8Array | null;
  allowedIps: string[];
  latestHandshake: number;
}

/** One in-memory interface, indexed for scale; see the module comment. */
export class IndexedWgControl implements WgControl, RelayWg {
  readonly iface: string;
  #privateKey: Uint8Array;
  #publicKey: string;
  readonly #peers = new Map<string, Peer>();
  readonly #owner = new Map<string, Peer>();

  constructor(iface: string, privateKey: Uint8Array) {
    this.iface = iface;
    this.#privateKey = clampPrivateKey(privateKey);
    this.#publicKey = publicKeyToText(publicKeyOf(this.#privateKey));
  }

  /** Set a peer's latest handshake (unix seconds). */
  setLatestHandshake(publicKey: string, seconds: number): void {
    const peer = this.#peers.get(publicKey);
    if (peer === undefined) throw new PqpskError('NOT_FOUND', 'indexed wg: no such peer');
    peer.latestHandshake = seconds;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  async show(iface: string): Promise<WgInterfaceState> {
    this.#check(iface);
    return {
      name: iface,
      publicKey: this.#publicKey,
      listenPort: 51820,
      peers: [...this.#peers.values()].map((p) => ({
        publicKey: p.publicKey,
        hasPresharedKey: p.psk !== null,
        endpoint: null,
        allowedIps: [...p.allowedIps],
        latestHandshake: p.latestHandshake,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepalive: null,
      })),
    };
  }

  async publicKey(iface: string): Promise<string> {
    this.#check(iface);
    return this.#publicKey;
  }

  async peerRoutes(iface: string): Promise<WgPeerRoute[]> {
    this.#check(iface);
    return [...this.#peers.values()].map((p) => ({ publicKey: p.publicKey, allowedIps: [...p.allowedIps], latestHandshake: p.latestHandshake }));
  }

  async readPrivateKey(iface: string): Promise<Uint8Array> {
    this.#check(iface);
    return Uint8Array.from(this.#privateKey);
  }

  async latestHandshakes(iface: string): Promise<Map<string, number>> {
    this.#check(iface);
    return new Map([...this.#peers.values()].map((p) => [p.publicKey, p.latestHandshake]));
  }

  async set(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }): Promise<void> {
    this.#check(iface);
    // Canonicalise first, so a bad address changes nothing.
    const peers = (change.peers ?? []).map((p, i) => ({ ...p, allowedIps: p.allowedIps?.map((ip, j) => canonicalCidr(`peer ${i + 1} allowed-ip ${j + 1}`, ip)) }));
    if (change.privateKey !== undefined) {
      this.#privateKey.fill(0);
      this.#privateKey = clampPrivateKey(change.privateKey);
      this.#publicKey = publicKeyToText(publicKeyOf(this.#privateKey));
      this.#remove(this.#publicKey);
    }
    for (const p of peers) {
      if (p.remove === true) {
        this.#remove(p.publicKey);
        continue;
      }
      if (p.publicKey === this.#publicKey) continue;
      let peer = this.#peers.get(p.publicKey);
      if (peer === undefined) {
        peer = { publicKey: p.publicKey, psk: null, allowedIps: [], latestHandshake: 0 };
        this.#peers.set(p.publicKey, peer);
      }
      if (p.presharedKey !== undefined) {
        peer.psk?.fill(0);
        peer.psk = p.presharedKey === null || p.presharedKey.every((b) => b === 0) ? null : Uint8Array.from(p.presharedKey);
      }
      if (p.allowedIps !== undefined) {
        for (const ip of peer.allowedIps) this.#owner.delete(ip);
        peer.allowedIps = [];
        for (const ip of p.allowedIps) {
          const holder = this.#owner.get(ip);
          if (holder !== undefined && holder !== peer) holder.allowedIps = holder.allowedIps.filter((x) => x !== ip);
          this.#owner.set(ip, peer);
          if (!peer.allowedIps.includes(ip)) peer.allowedIps.push(ip);
        }
      }
    }
  }

  /** Never prints keys. */
  toJSON(): unknown {
    return { iface: this.iface, peers: this.#peers.size, secrets: '<secret>' };
  }

  #remove(publicKey: string): void {
    const peer = this.#peers.get(publicKey);
    if (peer === undefined) return;
    for (const ip of peer.allowedIps) if (this.#owner.get(ip) === peer) this.#owner.delete(ip);
    peer.psk?.fill(0);
    this.#peers.delete(publicKey);
  }

  #check(iface: string): void {
    if (iface !== this.iface) throw new PqpskError('NOT_FOUND', `no such WireGuard interface ${iface}`);
  }
}
