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
 *
 * On Linux's WireGuard the client's data on a key without the addresses is dropped
 * uncounted; the interface's `rx_frame_errors`, read with the counters, stands in for it
 * (windowVerdicts). A verdict from frame errors moves the addresses but never settles the
 * tie: the errors name no peer, so the next windows are still read, and the client's data,
 * now counted on the key that holds the addresses, confirms it (a byte verdict that may
 * settle) or, if the errors were another peer's, the holder's silence with errors rising
 * again turns it back. The test bed runs wireguard-go only, so this path is exercised by
 * the in-memory WireGuard's kernel mode (unit tests and the relay model), never end to end.
 */
import type { HandshakeTie, ReceivedSince, TieWindow } from '../protocol/handshake-tie.js';
import { windowVerdicts } from '../protocol/handshake-tie.js';

/** Reads the received bytes of some peers (the relay's `RelayWg.receivedBytes` on its interface). */
export type ReceivedReader = (peers: ReadonlySet<string>) => Promise<ReadonlyMap<string, number>>;

/** Reads the interface's `rx_frame_errors` (the relay's `RelayWg.frameErrors`); null when it cannot. */
export type FrameErrorReader = () => Promise<number | null>;

interface TieState {
  /** The tie as the latest plan found it (its holder may have changed since the last read). */
  tie: HandshakeTie;
  /** The counters at the last read, and when (relay clock, ms). */
  baseline: ReadonlyMap<string, number> | null;
  baselineAt: number;
  /** What planTick is told from the last deciding window, and who it names. */
  decided: ReadonlyMap<string, number> | null;
  winner: string | null;
  settled: boolean;
}

/** Ties the relay is watching; bounded by the ties of the last pass (at most one per family). */
export class TieWatch {
  readonly #read: ReceivedReader | null;
  readonly #frames: FrameErrorReader | null;
  #ties = new Map<string, TieState>();
  #received: ReceivedSince | undefined;
  /** The interface's frame errors at the last read of the counters; null after a pass that read none. */
  #frameBaseline: number | null = null;

  /**
   * `read` null: WireGuard here cannot give counters, and ties go by the order the relay
   * saw them. `frames` null: no frame-error evidence (the kernel's ties then stay undecided).
   */
  constructor(read: ReceivedReader | null, frames: FrameErrorReader | null = null) {
    this.#read = read;
    this.#frames = frames;
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
      const known = this.#ties.get(id);
      const state = known ?? { tie, baseline: null, baselineAt: 0, decided: null, winner: null, settled: false };
      if (known !== undefined) known.tie = tie;
      next.set(id, state);
      if (!state.settled) for (const key of tie.members) wanted.add(key);
    }
    const ended = this.#ties.size !== next.size || [...this.#ties.keys()].some((id) => !next.has(id));
    this.#ties = next;
    let changed = false;
    if (wanted.size === 0) {
      this.#frameBaseline = null;
    } else {
      const counters = await this.#read(wanted);
      const frames = this.#frames === null ? null : await this.#frames();
      const rose = frames !== null && this.#frameBaseline !== null ? Math.max(0, frames - this.#frameBaseline) : 0;
      this.#frameBaseline = frames;
      const read = [...next.values()].filter((state) => !state.settled);
      const windows = read.map((state): TieWindow => {
        const { tie, baseline } = state;
        if (baseline === null) return { tie, received: undefined, holder: null };
        const moved = new Map(tie.members.map((key) => [key, Math.max(0, (counters.get(key) ?? 0) - (baseline.get(key) ?? 0))]));
        // The holder now is the holder of the whole window: the relay moves addresses only
        // right after a read (the pass that read them applies its plan), never between.
        return { tie, received: moved, holder: tie.holder };
      });
      const verdicts = windowVerdicts(windows, rose);
      for (const [i, state] of read.entries()) {
        const verdict = verdicts[i];
        if (verdict !== null && verdict !== undefined) {
          changed ||= state.winner !== verdict.winner;
          state.decided = verdict.received;
          state.winner = verdict.winner;
          state.settled = verdict.by === 'bytes' && state.baselineAt >= (state.tie.second + 1) * 1000;
        }
        state.baseline = new Map(state.tie.members.map((key) => [key, counters.get(key) ?? 0]));
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
