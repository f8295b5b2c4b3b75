/**
 * What the server and the client need from WireGuard, and nothing more. The real
 * implementation drives `wg` (src/wg/real.ts); an in-memory fake serves unit tests.
 *
 * Public keys travel as WireGuard's base64 text (44 characters); secrets (private keys,
 * PSKs) only as raw 32-byte Uint8Arrays, handed to `wg` through the secret channel,
 * never on argv, in a file or in an error message.
 */
import type { WgPeerChange, WgPeerRoute } from '../protocol/wg-peer.js';

/** A peer's change and its secret-free line are pure types the relay's rules share (src/protocol). */
export type { WgPeerChange, WgPeerRoute };

export interface WgPeer {
  readonly publicKey: string;
  /** Whether a non-zero PSK is set (its value is never read back into pqpsk's memory). */
  readonly hasPresharedKey: boolean;
  /** `host:port`, or null when the peer has none. */
  readonly endpoint: string | null;
  /** CIDR strings as `wg` prints them, e.g. `10.64.0.2/32`, `fc00::2/128`. */
  readonly allowedIps: readonly string[];
  /** Unix seconds of the latest handshake; 0 means never. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Seconds, or null when off. */
  readonly persistentKeepalive: number | null;
}

export interface WgInterfaceState {
  readonly name: string;
  /** Base64 public key; '' while the interface has no private key (`wg` prints `(none)`). */
  readonly publicKey: string;
  readonly listenPort: number;
  readonly peers: readonly WgPeer[];
}

/** A peer as the client reads it: whether a PSK is set, never its value. */
export interface WgPeerSummary {
  readonly publicKey: string;
  readonly hasPresharedKey: boolean;
}

/**
 * What the client reads of its interface, from `wg show <iface>`: no private key and no
 * PSK — unlike `dump` and `preshared-keys`, which print them.
 */
export interface WgInterfaceSummary {
  readonly name: string;
  /** Base64 public key; '' while the interface has no private key. */
  readonly publicKey: string;
  /** In `wg`'s order. */
  readonly peers: readonly WgPeerSummary[];
}



/**
 * The relay's reads. Each is a `wg show` whose output holds no private key and no PSK
 * (`public-key`, `allowed-ips`, `latest-handshakes`, `transfer`), so the relay's memory never holds
 * a secret it did not create itself — unlike `dump`, which prints every PSK.
 */
export interface WgRouteReader {
  /** The interface's own public key; '' while it has no private key. */
  publicKey(iface: string): Promise<string>;
  /** Every peer's key, allowed-ips and latest handshake. */
  peerRoutes(iface: string): Promise<WgPeerRoute[]>;
  /** Every peer's latest handshake, unix seconds (0 = never): half of `peerRoutes`, for polling. */
  latestHandshakes(iface: string): Promise<ReadonlyMap<string, number>>;
  /**
   * Bytes received so far from each of `peers` (`wg show <if> transfer`, counts only;
   * absent when not on the interface): read only while a family is tied on its latest
   * handshake second, to tell which key the client sends on. A reader without it leaves
   * such ties to the order in which the relay saw the handshakes.
   */
  receivedBytes?(iface: string, peers: ReadonlySet<string>): Promise<ReadonlyMap<string, number>>;
  /**
   * The interface's `rx_frame_errors` (null when it cannot be read): Linux's WireGuard
   * counts there the data it drops as coming from another peer's address, which it does
   * not count on the peer. Read with `receivedBytes`, only while a tie stands undecided.
   */
  frameErrors?(iface: string): Promise<number | null>;
}

/** What the relay needs from WireGuard: secret-free reads and `wg set` (prepared ahead where it can be). */
export type RelayWg = WgRouteReader & Pick<WgControl, 'set' | 'prepareSet'>;

/**
 * What the client needs from WireGuard. Its only read that returns a secret is
 * `readPrivateKey`, once per negotiation; nothing here returns a PSK.
 */
export interface WgControl {
  /** The interface's public key, its peers and whether each has a PSK (never the PSK). */
  summary(iface: string): Promise<WgInterfaceSummary>;
  /** The interface's private key (32 bytes), kept in memory for rollback; caller wipes it. */
  readPrivateKey(iface: string): Promise<Uint8Array>;
  /** Latest handshake per peer public key, unix seconds (0 = never). */
  latestHandshakes(iface: string): Promise<ReadonlyMap<string, number>>;
  /**
   * Apply a private key and/or peer changes in ONE `wg set` invocation, so a client's
   * key switch (new private key + the relay's PSK) is atomic from WireGuard's view.
   */
  set(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }): Promise<void>;
  /**
   * A `set` carrying up to `secrets` keys is coming: make what it needs beforehand (the
   * real one: its secret channel), while the caller waits on something else.
   */
  prepareSet?(secrets: number): void;
}
