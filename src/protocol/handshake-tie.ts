/**
 * The rule for a family whose latest handshakes fall in the same second. `wg` prints
 * handshakes in whole seconds, so a client that switches to its ephemeral key and back to
 * its parent (or forward again) within one second leaves the members tied, and the
 * handshake times alone cannot say which key it uses now. What the relay received
 * since can, and it reads it only while a tie stands:
 * - wireguard-go counts a peer's received bytes (handshakes and data) before it checks the
 *   packet's source against the allowed-ips, so the key the client sends on is the one
 *   whose counter moves (`wg show <if> transfer`);
 * - Linux's WireGuard counts handshakes and keepalives on the peer, but drops a data packet
 *   whose source address belongs (by allowed-ips) to another peer without counting it on
 *   the peer, counting it on the interface's `rx_frame_errors` instead. A client sending on
 *   the member that does not hold the family's addresses moves no peer's counter at all;
 *   what shows it is the holder staying silent while the interface's frame errors rise.
 * Both are public: the counters carry no key and the frame errors are a sysfs number.
 */
import type { WgPeerRoute } from './wg-peer.js';

/**
 * A family's members tied on the latest handshake second: `members` (at least two, with
 * the parent first when it is among them) all handshook in `second`, and no member later.
 * `holder` is the one member holding addresses when the plan read the interface (null
 * when none or several do): on the kernel, the only key whose data is counted.
 */
export interface HandshakeTie {
  readonly parent: string;
  readonly second: number;
  readonly members: readonly string[];
  readonly holder: string | null;
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
export function handshakeTie(parent: string, candidates: readonly (WgPeerRoute | undefined)[]): HandshakeTie | null {
  let second = 0;
  let members: WgPeerRoute[] = [];
  for (const peer of candidates) {
    if (peer === undefined || peer.latestHandshake <= 0) continue;
    const s = Math.floor(peer.latestHandshake);
    if (s > second) {
      second = s;
      members = [peer];
    } else if (s === second) {
      members.push(peer);
    }
  }
  if (members.length < 2) return null;
  const holding = members.filter((p) => p.allowedIps.length > 0);
  return { parent, second, members: members.map((p) => p.publicKey), holder: holding.length === 1 ? holding[0]!.publicKey : null };
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

/**
 * What one window between two reads showed about a tie: the bytes each member received
 * (undefined when the tie has no window yet: first seen at the later read) and the member
 * that held the family's addresses through the window (null when none or several did, so
 * the window cannot say whose data the kernel would have counted).
 */
export interface TieWindow {
  readonly tie: HandshakeTie;
  readonly received: ReceivedSince | undefined;
  readonly holder: string | null;
}

/** How a window decided a tie: by a member's own counter, or by frame errors (kernel). */
export interface WindowVerdict {
  readonly winner: string;
  readonly by: 'bytes' | 'frame-errors';
  /** What planTick is told for it: the bytes, or the frame errors ascribed to the winner. */
  readonly received: ReceivedSince;
}

/**
 * The verdict of one window for every tie read in it (same order; null: undecided), given
 * how much the interface's `rx_frame_errors` rose in that window (0 where it cannot be
 * read, as on wireguard-go, whose drops never reach the interface's statistics).
 *
 * A member's counter moving alone decides, as on wireguard-go. Otherwise, on a tie of
 * exactly two members whose holder received nothing while the frame errors rose, the
 * other member is the key the client sends on: its data was dropped as coming from an
 * address that is not its own. Three members leave two candidates, so no
 * verdict. Frame errors are one number for the whole interface and carry no peer, so they
 * are ascribed to a tie only when it is the one tie read in the window whose client may be
 * sending on a key without the addresses (every other tie's holder alone moved): with
 * several such ties the errors cannot be attributed and those ties stay undecided. A tie
 * with no window yet may be the source too, so it also withholds the errors. What this
 * cannot see: a family that is not tied (a client whose switch the relay has not applied
 * yet also sends dropped packets), and a misbehaving peer; the relay therefore never
 * settles on frame errors alone (see src/server/tie-watch.ts).
 */
export function windowVerdicts(windows: readonly TieWindow[], frameErrorsRose: number): (WindowVerdict | null)[] {
  const byBytes = windows.map((w) => tieWinner(w.tie, w.received));
  const cleanOf = (w: TieWindow, i: number): boolean => w.holder !== null && byBytes[i] === w.holder;
  const suspects = windows.filter((w, i) => !cleanOf(w, i));
  return windows.map((w, i): WindowVerdict | null => {
    const winner = byBytes[i];
    if (winner !== null && winner !== undefined) return { winner, by: 'bytes', received: w.received! };
    if (frameErrorsRose <= 0 || suspects.length !== 1 || w.received === undefined) return null;
    const { holder, tie } = w;
    if (tie.members.length !== 2 || holder === null || !tie.members.includes(holder)) return null;
    if ((w.received.get(holder) ?? 0) > 0) return null;
    const other = tie.members.find((key) => key !== holder)!;
    return { winner: other, by: 'frame-errors', received: new Map([[other, frameErrorsRose], [holder, 0]]) };
  });
}
