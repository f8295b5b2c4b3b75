/**
 * The rule for a family whose latest handshakes fall in the same second. `wg` prints
 * handshakes in whole seconds, so a client that switches to its ephemeral key and back to
 * its parent (or forward again) within one second leaves the members tied, and the
 * handshake times alone cannot say which key it uses now. The bytes each peer received
 * can: WireGuard counts a peer's received bytes (handshakes and data) whatever its
 * allowed-ips, so the key the client sends on is the one whose counter moves. The counters
 * are public (`wg show <if> transfer`), and the relay reads them only while a tie stands.
 */
import type { RelayPeerView } from './peer-state.js';

/**
 * A family's members tied on the latest handshake second: `members` (at least two, with
 * the parent first when it is among them) all handshook in `second`, and no member later.
 */
export interface HandshakeTie {
  readonly parent: string;
  readonly second: number;
  readonly members: readonly string[];
}

/**
 * Bytes received per peer between two reads of the counters, both made after the tie
 * they judge was first seen; only the members of current ties need be present.
 */
export type ReceivedSince = ReadonlyMap<string, number>;

/**
 * The tie among `candidates` (a family's parent and its ephemerals that may still hold
 * its addresses), or null. Handshakes may carry a fraction (the relay's own order of
 * observation): the whole second is what `wg` said, and what the tie is about.
 */
export function handshakeTie(parent: string, candidates: readonly (RelayPeerView | undefined)[]): HandshakeTie | null {
  let second = 0;
  let members: string[] = [];
  for (const peer of candidates) {
    if (peer === undefined || peer.latestHandshake <= 0) continue;
    const s = Math.floor(peer.latestHandshake);
    if (s > second) {
      second = s;
      members = [peer.publicKey];
    } else if (s === second) {
      members.push(peer.publicKey);
    }
  }
  return members.length >= 2 ? { parent, second, members } : null;
}

/**
 * The member of a tie the client is using: the only one whose received bytes moved.
 * Null when none moved (an idle client, or WireGuard that does not count what it drops)
 * or several did (a switch between the two reads): then the counters cannot tell.
 */
export function tieWinner(tie: HandshakeTie, received: ReceivedSince | undefined): string | null {
  if (received === undefined) return null;
  let winner: string | null = null;
  for (const key of tie.members) {
    if ((received.get(key) ?? 0) <= 0) continue;
    if (winner !== null) return null;
    winner = key;
  }
  return winner;
}
