/**
 * The two shapes of a WireGuard peer that the relay's rules read and write: a peer's
 * line as the relay reads it (no secret), and one peer change of a `wg set`. Pure types,
 * kept here so the rules need nothing from src/wg; src/wg uses these same ones.
 */

/** What the relay reads of a peer, and what its rules decide on: nothing that carries a secret. */
export interface WgPeerRoute {
  readonly publicKey: string;
  /** CIDR strings as `wg` prints them. */
  readonly allowedIps: readonly string[];
  /** Unix seconds of the latest handshake; 0 means never. */
  readonly latestHandshake: number;
}

/** One peer change in a `wg set`: what the relay's plans emit and what src/wg carries out. Omitted fields are left as they are. */
export interface WgPeerChange {
  readonly publicKey: string;
  /** Remove the peer entirely (other fields ignored). */
  readonly remove?: boolean;
  /** 32 secret bytes to set, or null to clear the PSK. */
  readonly presharedKey?: Uint8Array | null;
  /** Replaces the peer's allowed-ips with exactly this list (empty list clears them). */
  readonly allowedIps?: readonly string[];
  readonly endpoint?: string;
  readonly persistentKeepalive?: number;
}
