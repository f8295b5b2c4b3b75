/**
 * The relay operator's view of which parents are on a post-quantum key: the relay's book
 * joined with the interface's secret-free reads (public keys, allowed-ips, latest
 * handshakes). Pure: the caller reads both; nothing here asks the running relay, takes its
 * lock or writes, so it answers the same whether the relay runs or not.
 */
import type { RelayBook } from '../protocol/relay-book.js';
import type { WgPeerRoute } from '../wg/types.js';

/** One parent peer (a peer on the interface the book does not record as an ephemeral). */
export interface ParentStatus {
  readonly parent: string;
  /** A recorded ephemeral of this parent holds the family's addresses: its traffic has a post-quantum PSK. */
  readonly onEphemeral: boolean;
  /** That ephemeral's public key, or null. */
  readonly ephemeral: string | null;
  /** When that ephemeral was registered (ISO 8601): the family is on it since then at the earliest; null when on the parent key. */
  readonly ephemeralSince: string | null;
  /** The family's latest handshake, parent or any of its ephemerals (ISO 8601), or null for never. */
  readonly lastHandshake: string | null;
  /** The family's addresses, wherever they are held. */
  readonly allowedIps: readonly string[];
  /** Ephemerals recorded for this parent that hold nothing yet or any more (pending or standby). */
  readonly waitingEphemerals: number;
}

/** What `pqpsk server status` shows: per parent, and the totals. */
export interface RelayStatus {
  readonly interface: string;
  readonly book: string;
  /** Whether the book file exists (absent: no client registered yet, or another --state-dir). */
  readonly bookFound: boolean;
  /** Why the book could not be read in full (empty when it could; the relay logs the same at start). */
  readonly bookProblems: readonly string[];
  readonly parents: readonly ParentStatus[];
  /** Recorded ephemerals that are no longer on the interface (the relay forgets them on its next pass). */
  readonly vanishedEphemerals: number;
  readonly totals: { readonly parents: number; readonly onEphemeral: number; readonly onParentKey: number; readonly ephemeralPeers: number };
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

/**
 * Join `book` and `routes` (the interface's peers): every peer that is not a recorded
 * ephemeral is a parent; its family is on an ephemeral when one of the parent's recorded
 * ephemerals holds addresses. Parents sorted on-ephemeral last, then by key, so the ones
 * still exposed come first.
 */
export function relayStatus(iface: string, bookLocation: string, bookFound: boolean, book: RelayBook, problems: readonly string[], routes: readonly WgPeerRoute[]): RelayStatus {
  const byKey = new Map(routes.map((r) => [r.publicKey, r]));
  const ephemeralKeys = new Set(book.ephemerals.map((e) => e.ephemeral));
  const parents: ParentStatus[] = [];
  let vanished = 0;
  for (const e of book.ephemerals) if (!byKey.has(e.ephemeral)) vanished++;
  for (const peer of routes) {
    if (ephemeralKeys.has(peer.publicKey)) continue;
    const family = book.ephemerals.filter((e) => e.parent === peer.publicKey && byKey.has(e.ephemeral));
    const live = family.find((e) => byKey.get(e.ephemeral)!.allowedIps.length > 0) ?? null;
    const handshakes = [peer.latestHandshake, ...family.map((e) => byKey.get(e.ephemeral)!.latestHandshake)];
    parents.push({
      parent: peer.publicKey,
      onEphemeral: live !== null,
      ephemeral: live?.ephemeral ?? null,
      ephemeralSince: live === null ? null : iso(live.registeredAt),
      lastHandshake: iso(Math.max(...handshakes) * 1000),
      allowedIps: live === null ? peer.allowedIps : [...peer.allowedIps, ...byKey.get(live.ephemeral)!.allowedIps],
      waitingEphemerals: family.filter((e) => e !== live && byKey.get(e.ephemeral)!.allowedIps.length === 0).length,
    });
  }
  parents.sort((a, b) => Number(a.onEphemeral) - Number(b.onEphemeral) || (a.parent < b.parent ? -1 : a.parent > b.parent ? 1 : 0));
  const onEphemeral = parents.filter((p) => p.onEphemeral).length;
  return {
    interface: iface,
    book: bookLocation,
    bookFound,
    bookProblems: problems,
    parents,
    vanishedEphemerals: vanished,
    totals: { parents: parents.length, onEphemeral, onParentKey: parents.length - onEphemeral, ephemeralPeers: routes.length - parents.length },
  };
}
