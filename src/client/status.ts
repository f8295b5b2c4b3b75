/**
 * `pqpsk status`: is a tunnel post-quantum right now? Read from the running watcher when
 * there is one (through its lock socket) and from the interface either way, so it works
 * with no watcher at all. Public facts only: keys, a PSK fingerprint, times, counters.
 *
 * "A PSK is set" alone proves nothing: a static, classical PSK on the parent key looks
 * the same from the interface. So the tunnel counts as post-quantum only when the key it
 * is on is one pqpsk switched to — the running watcher's ephemeral key, or with no
 * watcher, the key a one-shot run noted (./key-note.ts) — and a PSK of unknown origin
 * is reported as such, not protected.
 */
import { PqpskError } from '../errors.js';
import { REJECT_AFTER_MS } from '../protocol/wireguard.js';
import type { WgControl } from '../wg/types.js';
import { readKeyNote } from './key-note.js';
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
  /**
   * Where the PSK came from: `pqpsk` when the interface is on the key a watcher or an
   * earlier one-shot run of pqpsk switched to, `unknown` for any other PSK (a static one
   * on the parent key, another tool's), null without a PSK.
   */
  readonly pskOrigin: 'pqpsk' | 'unknown' | null;
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
  readonly readKeyNote?: typeof readKeyNote;
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
  const watched = watch?.hops.find((h) => h.interface === iface);
  // With no watcher, what a one-shot run noted, if the interface is still on its key and relay.
  const note = watch === null && hasPsk ? await (deps.readKeyNote ?? readKeyNote)(iface) : null;
  const noted = note !== null && note.hop.publicKey === state.publicKey && note.hop.publicKey !== note.hop.parentPublicKey && note.peer === relay?.publicKey ? note : null;
  const hop = watched ?? noted?.hop;
  const fingerprint = hasPsk && hop !== undefined && hop.publicKey === state.publicKey ? hop.pskFingerprint : null;
  const handshakeMs = (relay === null ? 0 : (handshakes.get(relay.publicKey) ?? 0)) * 1000;
  const fresh = handshakeMs > 0 && now - handshakeMs < REJECT_AFTER_MS;
  const onEphemeral = hop !== undefined && hop.publicKey === state.publicKey && hop.publicKey !== hop.parentPublicKey;
  const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || ms <= 0 ? null : new Date(ms).toISOString());
  return {
    interface: iface,
    protected: hasPsk && onEphemeral && fresh && (watch === null || watch.protected),
    state: watch?.phase ?? 'unwatched',
    publicKey: state.publicKey === '' ? null : state.publicKey,
    peer: relay?.publicKey ?? null,
    psk: hasPsk,
    pskOrigin: hasPsk ? (onEphemeral ? 'pqpsk' : 'unknown') : null,
    pskFingerprint: fingerprint,
    configService: hop?.service ?? null,
    latestHandshake: iso(handshakeMs),
    negotiatedAt: iso(watch?.negotiatedAt ?? noted?.negotiatedAt),
    nextRotationAt: iso(watch?.nextRotationAt),
    rotations: watch?.rotations ?? null,
    recoveries: watch?.recoveries ?? null,
    lastError: watch?.lastError ?? null,
    watcherPid: holder?.pid ?? null,
    untrustedAnswer: answer === 'untrusted',
  };
}
