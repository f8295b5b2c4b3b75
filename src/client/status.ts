/**
 * `pqpsk status`: is a tunnel post-quantum right now? Read from the running watcher when
 * there is one (through its lock socket) and from the interface either way, so it works
 * with no watcher at all. Public facts only: keys, a PSK fingerprint, times, counters.
 */
import { PqpskError } from '../errors.js';
import { REJECT_AFTER_MS } from '../protocol/wireguard.js';
import type { WgControl } from '../wg/types.js';
import { askHolder } from './lock.js';


/**
 * The `status --json` object. Field names are stable (documented in the README); times
 * are ISO 8601 strings or null.
 */
export interface TunnelStatus {
  readonly interface: string;
  /** On an ephemeral key with a PSK and a handshake within the reject-after time (and, with a watcher, verified by it). */
  readonly protected: boolean;
  /** The watcher's tunnel state, or `unwatched`. */
  readonly state: string;
  readonly publicKey: string | null;
  readonly peer: string | null;
  /** Whether WireGuard holds a PSK for the relay peer (read from the interface, never the PSK). */
  readonly psk: boolean;
  /** First 8 bytes of SHA-256(PSK), hex; only a running watcher that negotiated the PSK knows it. */
  readonly pskFingerprint: string | null;
  /** The relay's config service the running watcher uses; null without a watcher. */
  readonly configService: string | null;
  readonly latestHandshake: string | null;
  readonly negotiatedAt: string | null;
  readonly nextRotationAt: string | null;
  readonly rotations: number | null;
  readonly recoveries: number | null;
  readonly lastError: string | null;
  readonly watcherPid: number | null;
  /** Something answered on the lock socket, but not with a well-formed reply: nothing it said is used. */
  readonly untrustedAnswer: boolean;
}

/** What reading a status needs from outside. */
export interface StatusDeps {
  readonly wg: WgControl;
  readonly now?: () => number;
  readonly askHolder?: typeof askHolder;
}

/**
 * The status of `iface` (relay peer: `peer`, or the interface's only peer; with several
 * peers and no `peer` there is no telling which is the relay, so that is an error listing
 * them rather than a verdict about none). Whether a PSK
 * is set comes from the interface; its fingerprint only from a watcher that negotiated
 * it, because the PSK itself is never read back from WireGuard.
 */
export async function readTunnelStatus(iface: string, peer: string | null, deps: StatusDeps): Promise<TunnelStatus> {
  const now = (deps.now ?? Date.now)();
  const answer = await (deps.askHolder ?? askHolder)(iface);
  const holder = answer === 'untrusted' ? null : answer;
  const watch = holder?.mode === 'watch' ? holder.status : null;
  const state = await deps.wg.summary(iface);
  if (peer === null && state.peers.length > 1) {
    throw new PqpskError('INVALID_INPUT', `${iface} has ${state.peers.length} peers; name the relay with --peer, one of: ${state.peers.map((p) => p.publicKey).join(', ')}`);
  }
  if (peer !== null && !state.peers.some((p) => p.publicKey === peer)) {
    throw new PqpskError('NOT_FOUND', `${iface}: no peer with the public key given by --peer (its peers: ${state.peers.map((p) => p.publicKey).join(', ') || 'none'})`);
  }
  const relay = peer === null ? (state.peers[0] ?? null) : (state.peers.find((p) => p.publicKey === peer) ?? null);
  const hasPsk = relay?.hasPresharedKey === true;
  const handshakes = relay === null ? new Map<string, number>() : await deps.wg.latestHandshakes(iface);
  const hop = watch?.hops.find((h) => h.interface === iface);
  const fingerprint = hasPsk && hop !== undefined && hop.publicKey === state.publicKey ? hop.pskFingerprint : null;
  const handshakeMs = (relay === null ? 0 : (handshakes.get(relay.publicKey) ?? 0)) * 1000;
  const fresh = handshakeMs > 0 && now - handshakeMs < REJECT_AFTER_MS;
  const onEphemeral = hop === undefined ? hasPsk : hop.publicKey === state.publicKey && hop.publicKey !== hop.parentPublicKey;
  const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || ms <= 0 ? null : new Date(ms).toISOString());
  return {
    interface: iface,
    protected: hasPsk && onEphemeral && fresh && (watch === null || watch.protected),
    state: watch?.phase ?? 'unwatched',
    publicKey: state.publicKey === '' ? null : state.publicKey,
    peer: relay?.publicKey ?? null,
    psk: hasPsk,
    pskFingerprint: fingerprint,
    configService: hop?.service ?? null,
    latestHandshake: iso(handshakeMs),
    negotiatedAt: iso(watch?.negotiatedAt),
    nextRotationAt: iso(watch?.nextRotationAt),
    rotations: watch?.rotations ?? null,
    recoveries: watch?.recoveries ?? null,
    lastError: watch?.lastError ?? null,
    watcherPid: holder?.pid ?? null,
    untrustedAnswer: answer === 'untrusted',
  };
}
