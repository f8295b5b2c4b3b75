/**
 * The evidence for handshake ties (src/protocol/handshake-tie.ts), gathered by the relay's
 * passes. While a family stands tied on its latest handshake second, each pass reads the
 * received-byte counters of the tied peers (one `wg show <if> transfer`), and what each
 * received between two such reads, both made after the tie was first seen, is what the
 * next plan is told. A tie is settled once a window that began after its second ended
 * showed one member moving: a key switch needs a new handshake, which would show a later
 * second, so nothing can hide in that second any more and the counters need not be read
 * again. A settled or decided tie keeps its verdict while the tie stands, so an idle
 * moment never undoes it.
 */
import type { HandshakeTie, ReceivedSince } from '../protocol/handshake-tie.js';
import { tieWinner } from '../protocol/handshake-tie.js';

/** Reads the received bytes of some peers (the relay's `RelayWg.receivedBytes` on its interface). */
export type ReceivedReader = (peers: ReadonlySet<string>) => Promise<ReadonlyMap<string, number>>;

interface TieState {
  readonly tie: HandshakeTie;
  /** The counters at the last read, and when (relay clock, ms). */
  baseline: ReadonlyMap<string, number> | null;
  baselineAt: number;
  /** The last window in which exactly one member moved. */
  decided: ReadonlyMap<string, number> | null;
  settled: boolean;
}

/** Ties the relay is watching; bounded by the ties of the last pass (at most one per family). */
export class TieWatch {
  readonly #read: ReceivedReader | null;
  #ties = new Map<string, TieState>();
  #received: ReceivedSince | undefined;

  /** `read` null: WireGuard here cannot give counters, and ties go by the order the relay saw them. */
  constructor(read: ReceivedReader | null) {
    this.#read = read;
  }

  /** What planTick is told: the deciding window of every tie that has one. */
  get received(): ReceivedSince | undefined {
    return this.#received;
  }

  /** Whether a tie is still undecided or unsettled: the relay reads its counters again next pass. */
  get watching(): boolean {
    for (const state of this.#ties.values()) if (!state.settled) return true;
    return false;
  }

  /**
   * Whether an unsettled tie is recent (its second within `windowMs` of `nowMs`): the relay
   * then polls fast, so the client's first packets decide it within a second. An older one
   * is an idle client's (nothing moved since): it is read at the idle pace, a read every
   * couple of seconds, until the client sends or a handshake ends the tie.
   */
  urgent(nowMs: number, windowMs: number): boolean {
    for (const state of this.#ties.values()) if (!state.settled && nowMs - state.tie.second * 1000 < windowMs) return true;
    return false;
  }

  /**
   * Take the ties a plan found: forget the ones that ended, read the counters when any is
   * unsettled, and say whether a verdict changed (then the caller plans again).
   */
  async observe(ties: readonly HandshakeTie[], nowMs: number): Promise<boolean> {
    if (this.#read === null) return false;
    const next = new Map<string, TieState>();
    const wanted = new Set<string>();
    for (const tie of ties) {
      const id = `${tie.parent} ${tie.second} ${tie.members.join(' ')}`;
      const state = this.#ties.get(id) ?? { tie, baseline: null, baselineAt: 0, decided: null, settled: false };
      next.set(id, state);
      if (!state.settled) for (const key of tie.members) wanted.add(key);
    }
    const ended = this.#ties.size !== next.size || [...this.#ties.keys()].some((id) => !next.has(id));
    this.#ties = next;
    let changed = false;
    if (wanted.size > 0) {
      const counters = await this.#read(wanted);
      for (const state of next.values()) {
        if (state.settled) continue;
        const { tie } = state;
        const now = new Map(tie.members.map((key) => [key, counters.get(key) ?? 0]));
        if (state.baseline !== null) {
          const base = state.baseline;
          const moved = new Map(tie.members.map((key) => [key, Math.max(0, now.get(key)! - (base.get(key) ?? 0))]));
          const winner = tieWinner(tie, moved);
          if (winner !== null) {
            changed ||= state.decided === null || tieWinner(tie, state.decided) !== winner;
            state.decided = moved;
            state.settled = state.baselineAt >= (tie.second + 1) * 1000;
          }
        }
        state.baseline = now;
        state.baselineAt = nowMs;
      }
    }
    if (changed || ended) {
      const received = new Map<string, number>();
      for (const state of next.values()) for (const [key, bytes] of state.decided ?? []) received.set(key, bytes);
      this.#received = received.size > 0 ? received : undefined;
    }
    return changed;
  }
}
