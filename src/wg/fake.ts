/**
 * An in-memory WgControl for the server's and client's unit tests. It behaves like
 * WireGuard where callers can tell the difference (checked against wireguard-go by
 * test/e2e/fake-vs-real.test.ts):
 * - input is validated by the same argv builder as the real control, so bad input fails
 *   with the same error, and a rejected `set` changes nothing;
 * - naming a peer in `set` creates it; a peer whose key equals the interface's own public
 *   key is ignored; setting a private key removes a peer holding the matching public key;
 * - allowed-ips are canonicalised (host bits masked) and unique per interface: giving a
 *   prefix to one peer takes it away from whichever peer had it (the relay's allowed-ips
 *   swap relies on this);
 * - the private key is stored clamped, as WireGuard reports it back;
 * - a missing interface is NOT_FOUND with the real control's message.
 * It records every call (secrets reduced to 'set'/'cleared') and lets tests set
 * handshake times and transfer counters, or make the next call fail. `receiveData` counts
 * a data packet the way the chosen WireGuard does: wireguard-go on the peer whatever its
 * source address; Linux's kernel module, when the source belongs (by allowed-ips) to
 * another peer or to none, on the interface's frame errors and not on the peer. An allowed-ip →
 * holder index makes a change cost what it changes, so the benchmark can hold a relay
 * with tens of thousands of peers in it (with recording off, so the record of calls does
 * not count as the relay's memory).
 */
import { inspect } from 'node:util';
import { PqpskError } from '../errors.js';
import { allowedIpsCommand, describeCommand, latestHandshakesCommand, privateKeyCommand, publicKeyCommand, setCommand, showCommand, showDumpCommand, type WgCommand } from './argv.js';
import { canonicalCidr } from '../protocol/ip.js';
import { WgError } from './errors.js';
import { transferCommand } from './transfer.js';
import { clampPrivateKey, publicKeyOf, publicKeyToText } from './keys.js';
import type { RelayWg, WgControl, WgInterfaceState, WgInterfaceSummary, WgPeer, WgPeerChange, WgPeerRoute } from './types.js';

/** The name of a WgControl method, as recorded and as targeted by `failNext`. */
export type FakeOpName = 'show' | 'summary' | 'readPrivateKey' | 'latestHandshakes' | 'receivedBytes' | 'frameErrors' | 'publicKey' | 'peerRoutes' | 'set';

/** Which WireGuard's counting `receiveData` follows (see the module comment). */
export type FakeCounting = 'wireguard-go' | 'kernel';

/** A peer change as recorded: no secret values, only whether a PSK was set or cleared. */
export interface FakePeerRecord {
  readonly publicKey: string;
  readonly remove?: true;
  readonly presharedKey?: 'set' | 'cleared';
  readonly allowedIps?: readonly string[];
  readonly endpoint?: string;
  readonly persistentKeepalive?: number;
}

/** One recorded call. `failed` holds the error code when the call was rejected. */
export interface FakeOperation {
  readonly op: FakeOpName;
  readonly iface: string;
  readonly privateKey?: boolean;
  readonly peers?: readonly FakePeerRecord[];
  readonly failed?: string;
}

interface PeerState {
  readonly publicKey: string;
  psk: Uint8Array | null;
  endpoint: string | null;
  allowedIps: string[];
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number | null;
}

interface InterfaceState {
  privateKey: Uint8Array | null;
  publicKey: string;
  listenPort: number;
  readonly peers: Map<string, PeerState>;
  /** Which peer holds each allowed-ip (canonical CIDR); every peer's list agrees with it. */
  readonly holders: Map<string, PeerState>;
  /** `rx_frame_errors`: data dropped for its source address (kernel counting only). */
  frameErrors: number;
}

/** In-memory WireGuard for unit tests; see the module comment for what it models. */
export class FakeWgControl implements WgControl, RelayWg {
  /** Every call, in order (left empty when constructed with `record: false`). */
  readonly operations: FakeOperation[] = [];
  /** Called after each successful `set` (e.g. to simulate a handshake completing). */
  onSet: ((iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }) => void) | undefined;

  private readonly interfaces = new Map<string, InterfaceState>();
  private readonly failures: { op: FakeOpName; error: Error }[] = [];
  private readonly recording: boolean;
  /** How `receiveData` counts. */
  readonly counting: FakeCounting;

  constructor(options: { readonly record?: boolean; readonly counting?: FakeCounting } = {}) {
    this.recording = options.record ?? true;
    this.counting = options.counting ?? 'wireguard-go';
  }

  /** Creates an interface, optionally with a private key (copied and clamped). */
  addInterface(name: string, options: { privateKey?: Uint8Array; listenPort?: number } = {}): void {
    showDumpCommand(name); // validates the name exactly as the real control would
    if (this.interfaces.has(name)) throw new PqpskError('INVALID_INPUT', `fake: interface ${name} already exists`);
    const state: InterfaceState = { privateKey: null, publicKey: '', listenPort: options.listenPort ?? 51820, peers: new Map(), holders: new Map(), frameErrors: 0 };
    if (options.privateKey !== undefined) applyPrivateKey(state, options.privateKey);
    this.interfaces.set(name, state);
  }

  /** Deletes an interface, as when its wireguard-go process exits. */
  removeInterface(name: string): void {
    const state = this.lookup(name);
    state.privateKey?.fill(0);
    for (const p of state.peers.values()) p.psk?.fill(0);
    this.interfaces.delete(name);
  }

  hasInterface(name: string): boolean {
    return this.interfaces.has(name);
  }

  /** Sets a peer's latest handshake (unix seconds, 0 = never). */
  setLatestHandshake(iface: string, publicKey: string, seconds: number): void {
    this.peer(iface, publicKey).latestHandshake = seconds;
  }

  /** Sets a peer's transfer counters. */
  setTransfer(iface: string, publicKey: string, rxBytes: number, txBytes: number): void {
    const p = this.peer(iface, publicKey);
    p.rxBytes = rxBytes;
    p.txBytes = txBytes;
  }

  /**
   * A data packet of `bytes` from `publicKey` whose inner source is `source` (a canonical
   * host CIDR such as `10.64.0.2/32`). wireguard-go counts it on the peer; the kernel only
   * when the peer holds `source`, else it drops it and adds a frame error on the interface.
   */
  receiveData(iface: string, publicKey: string, bytes: number, source: string): void {
    const p = this.peer(iface, publicKey);
    const state = this.lookup(iface);
    if (this.counting === 'kernel' && state.holders.get(source) !== p) state.frameErrors++;
    else p.rxBytes += bytes;
  }

  /** A copy of the PSK currently set on a peer (null when none); the test wipes it. */
  presharedKeyOf(iface: string, publicKey: string): Uint8Array | null {
    const psk = this.peer(iface, publicKey).psk;
    return psk === null ? null : Uint8Array.from(psk);
  }

  /** A copy of the interface's (clamped) private key, or null. */
  privateKeyOf(iface: string): Uint8Array | null {
    const k = this.lookup(iface).privateKey;
    return k === null ? null : Uint8Array.from(k);
  }

  /** Makes the next call of `op` throw `error` (default: a WG_FAILURE like the real one). */
  failNext(op: FakeOpName, error?: Error): void {
    this.failures.push({ op, error: error ?? new WgError('WG_FAILURE', '`wg` failed', `wg (fake ${op})`, 1) });
  }

  async show(iface: string): Promise<WgInterfaceState> {
    const cmd = this.begin('show', iface, () => showDumpCommand(iface));
    const state = this.iface('show', iface, cmd);
    this.remember({ op: 'show', iface });
    const peers: WgPeer[] = [...state.peers.values()].map((p) => ({
      publicKey: p.publicKey,
      hasPresharedKey: p.psk !== null,
      endpoint: p.endpoint,
      allowedIps: [...p.allowedIps],
      latestHandshake: p.latestHandshake,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: p.persistentKeepalive,
    }));
    return { name: iface, publicKey: state.publicKey, listenPort: state.listenPort, peers };
  }

  async summary(iface: string): Promise<WgInterfaceSummary> {
    const cmd = this.begin('summary', iface, () => showCommand(iface));
    const state = this.iface('summary', iface, cmd);
    this.remember({ op: 'summary', iface });
    return { name: iface, publicKey: state.publicKey, peers: [...state.peers.values()].map((p) => ({ publicKey: p.publicKey, hasPresharedKey: p.psk !== null })) };
  }

  async publicKey(iface: string): Promise<string> {
    const cmd = this.begin('publicKey', iface, () => publicKeyCommand(iface));
    const state = this.iface('publicKey', iface, cmd);
    this.remember({ op: 'publicKey', iface });
    return state.publicKey;
  }

  async peerRoutes(iface: string): Promise<WgPeerRoute[]> {
    const cmd = this.begin('peerRoutes', iface, () => allowedIpsCommand(iface));
    const state = this.iface('peerRoutes', iface, cmd);
    this.remember({ op: 'peerRoutes', iface });
    return [...state.peers.values()].map((p) => ({ publicKey: p.publicKey, allowedIps: [...p.allowedIps], latestHandshake: p.latestHandshake }));
  }

  async readPrivateKey(iface: string): Promise<Uint8Array> {
    const cmd = this.begin('readPrivateKey', iface, () => privateKeyCommand(iface));
    const state = this.iface('readPrivateKey', iface, cmd);
    this.remember({ op: 'readPrivateKey', iface });
    if (state.privateKey === null) throw new PqpskError('NOT_FOUND', `WireGuard interface ${iface} has no private key`);
    return Uint8Array.from(state.privateKey);
  }

  async latestHandshakes(iface: string): Promise<Map<string, number>> {
    const cmd = this.begin('latestHandshakes', iface, () => latestHandshakesCommand(iface));
    const state = this.iface('latestHandshakes', iface, cmd);
    this.remember({ op: 'latestHandshakes', iface });
    return new Map([...state.peers.values()].map((p) => [p.publicKey, p.latestHandshake]));
  }

  async receivedBytes(iface: string, peers: ReadonlySet<string>): Promise<Map<string, number>> {
    const cmd = this.begin('receivedBytes', iface, () => transferCommand(iface));
    const state = this.iface('receivedBytes', iface, cmd);
    this.remember({ op: 'receivedBytes', iface });
    const out = new Map<string, number>();
    for (const key of peers) {
      const p = state.peers.get(key);
      if (p !== undefined) out.set(key, p.rxBytes);
    }
    return out;
  }

  async frameErrors(iface: string): Promise<number | null> {
    const cmd = this.begin('frameErrors', iface, () => transferCommand(iface));
    const state = this.iface('frameErrors', iface, cmd);
    this.remember({ op: 'frameErrors', iface });
    return state.frameErrors;
  }

  async set(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }): Promise<void> {
    const cmd = this.begin('set', iface, () => setCommand(iface, change, '/fake'), change);
    const state = this.iface('set', iface, cmd, change);
    this.remember(record(iface, change));
    // Canonicalise before touching state, so an error leaves nothing half-applied.
    const peers = (change.peers ?? []).map((p, i) => ({
      ...p,
      allowedIps: p.allowedIps?.map((ip, j) => canonicalCidr(`peer ${i + 1} allowed-ip ${j + 1}`, ip)),
    }));
    if (change.privateKey !== undefined) applyPrivateKey(state, change.privateKey);
    for (const p of peers) {
      if (p.remove === true) {
        removePeer(state, p.publicKey);
        continue;
      }
      if (p.publicKey === state.publicKey) continue;
      let peer = state.peers.get(p.publicKey);
      if (peer === undefined) {
        peer = { publicKey: p.publicKey, psk: null, endpoint: null, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: null };
        state.peers.set(p.publicKey, peer);
      }
      if (p.presharedKey !== undefined) {
        peer.psk?.fill(0);
        peer.psk = p.presharedKey === null || p.presharedKey.every((b) => b === 0) ? null : Uint8Array.from(p.presharedKey);
      }
      if (p.endpoint !== undefined) peer.endpoint = p.endpoint;
      if (p.persistentKeepalive !== undefined) peer.persistentKeepalive = p.persistentKeepalive === 0 ? null : p.persistentKeepalive;
      if (p.allowedIps !== undefined) {
        for (const ip of peer.allowedIps) state.holders.delete(ip);
        peer.allowedIps = [];
        for (const ip of p.allowedIps) {
          const holder = state.holders.get(ip);
          if (holder !== undefined && holder !== peer) holder.allowedIps = holder.allowedIps.filter((x) => x !== ip);
          state.holders.set(ip, peer);
          if (!peer.allowedIps.includes(ip)) peer.allowedIps.push(ip);
        }
      }
    }
    this.onSet?.(iface, change);
  }

  /** Never prints keys. */
  toJSON(): unknown {
    return { interfaces: [...this.interfaces.keys()], operations: this.operations.length, secrets: '<secret>' };
  }

  [inspect.custom](): string {
    return `FakeWgControl ${JSON.stringify(this.toJSON())}`;
  }

  private remember(operation: FakeOperation): void {
    if (this.recording) this.operations.push(operation);
  }

  private begin(
    op: FakeOpName,
    iface: string,
    build: () => WgCommand,
    change?: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] },
  ): WgCommand {
    let cmd: WgCommand;
    try {
      cmd = build();
    } catch (err) {
      this.remember({ op, iface, failed: codeOf(err) });
      throw err;
    }
    const i = this.failures.findIndex((f) => f.op === op);
    if (i !== -1) {
      const error = this.failures.splice(i, 1)[0]!.error;
      this.remember({ ...(change === undefined ? { op, iface } : record(iface, change)), failed: codeOf(error) });
      throw error;
    }
    return cmd;
  }

  private iface(
    op: FakeOpName,
    name: string,
    cmd: WgCommand,
    change?: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] },
  ): InterfaceState {
    const state = this.interfaces.get(name);
    if (state === undefined) {
      this.remember({ ...(change === undefined ? { op, iface: name } : record(name, change)), failed: 'NOT_FOUND' });
      throw new WgError('NOT_FOUND', `no such WireGuard interface ${name}`, describeCommand(cmd.display), 1);
    }
    return state;
  }

  private lookup(name: string): InterfaceState {
    const state = this.interfaces.get(name);
    if (state === undefined) throw new PqpskError('NOT_FOUND', `fake: no interface ${name}`);
    return state;
  }

  private peer(iface: string, publicKey: string): PeerState {
    const p = this.lookup(iface).peers.get(publicKey);
    if (p === undefined) throw new PqpskError('NOT_FOUND', `fake: no peer ${publicKey} on ${iface}`);
    return p;
  }
}

function applyPrivateKey(state: InterfaceState, privateKey: Uint8Array): void {
  const clamped = clampPrivateKey(privateKey);
  state.privateKey?.fill(0);
  state.privateKey = clamped;
  state.publicKey = publicKeyToText(publicKeyOf(clamped));
  removePeer(state, state.publicKey);
}

function removePeer(state: InterfaceState, publicKey: string): void {
  const peer = state.peers.get(publicKey);
  if (peer === undefined) return;
  for (const ip of peer.allowedIps) state.holders.delete(ip);
  peer.psk?.fill(0);
  state.peers.delete(publicKey);
}

function record(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }): FakeOperation {
  const peers = (change.peers ?? []).map((p): FakePeerRecord => {
    if (p.remove === true) return { publicKey: p.publicKey, remove: true };
    return {
      publicKey: p.publicKey,
      ...(p.presharedKey === undefined ? {} : { presharedKey: p.presharedKey === null ? 'cleared' : 'set' }),
      ...(p.allowedIps === undefined ? {} : { allowedIps: [...p.allowedIps] }),
      ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
      ...(p.persistentKeepalive === undefined ? {} : { persistentKeepalive: p.persistentKeepalive }),
    };
  });
  return { op: 'set', iface, privateKey: change.privateKey !== undefined, peers };
}

function codeOf(err: unknown): string {
  return err instanceof PqpskError ? err.code : 'ERROR';
}
