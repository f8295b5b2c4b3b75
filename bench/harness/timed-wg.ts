/**
 * Stopwatches around what the relay waits for besides its KEMs — each call to its `wg`
 * (the reads and `wg set`) and each save of its book — so the one-client rows can say
 * where a registration's time goes without changing the relay: the relay gets these
 * wrappers in place of the real `wg` and store.
 */
import type { BookStore } from '../../src/server/book-store.js';
import type { RelayWg } from '../../src/wg/types.js';

/** One timed call: what, and when it started and ended (performance.now()). */
export interface CallSpan {
  readonly what: string;
  readonly from: number;
  readonly to: number;
}

/** Wall time of each call, by what was called (`wg set`, `wg read`, `wg handshakes`, `book save`…). */
export class CallTimes {
  readonly #times = new Map<string, number[]>();
  readonly #spans: CallSpan[] = [];
  #from = 0;
  #counting = true;

  /** Forget what was timed so far (the warm-up) and time from now on. */
  reset(): void {
    this.#times.clear();
    this.#spans.length = 0;
    this.#from = performance.now();
    this.#counting = true;
  }

  /** Stop timing (the measured window is over). */
  stop(): void {
    this.#counting = false;
  }

  async time<T>(what: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      if (this.#counting && started >= this.#from) {
        const ended = performance.now();
        const list = this.#times.get(what) ?? [];
        list.push(ended - started);
        this.#times.set(what, list);
        this.#spans.push({ what, from: started, to: ended });
      }
    }
  }

  /** Every call timed since `reset`, in the order they ended. */
  get spans(): readonly CallSpan[] {
    return this.#spans;
  }

  /** Every kind of call timed since `reset`, and its durations. */
  get times(): ReadonlyMap<string, readonly number[]> {
    return this.#times;
  }
}

/** `wg` with every call timed in `times`. */
export function timedWg(wg: RelayWg, times: CallTimes): RelayWg {
  const timed: RelayWg = {
    publicKey: (iface) => times.time('wg public-key', () => wg.publicKey(iface)),
    peerRoutes: (iface) => times.time('wg read (allowed-ips + latest-handshakes)', () => wg.peerRoutes(iface)),
    latestHandshakes: (iface) => times.time('wg latest-handshakes (watcher)', () => wg.latestHandshakes(iface)),
    set: (iface, change) => times.time('wg set', () => wg.set(iface, change)),
  };
  const { receivedBytes, frameErrors } = wg;
  return {
    ...timed,
    ...(receivedBytes === undefined ? {} : { receivedBytes: (iface: string, peers: ReadonlySet<string>) => times.time('wg transfer', () => receivedBytes.call(wg, iface, peers)) }),
    ...(frameErrors === undefined ? {} : { frameErrors: (iface: string) => frameErrors.call(wg, iface) }),
  };
}

/** A book store whose saves are timed in `times`. */
export function timedStore(store: BookStore, times: CallTimes): BookStore {
  return {
    load: () => store.load(),
    save: (book) => times.time('book save', () => store.save(book)),
    get location() {
      return store.location;
    },
    get problems() {
      return store.problems ?? [];
    },
  };
}

/**
 * Where one registration's wall time at the relay went, by step: each millisecond of its
 * window (request in → answer out) is given to the first kind in `order` that had a call
 * running then; the rest is `other` (the KEM step, the lock's queue behind untimed work,
 * the handler's own code). A call of another registration or of the poller counts too:
 * a lone registration that waits for the poller's read under the lock waits for that read.
 */
export function stepsOf(window: { readonly from: number; readonly to: number }, spans: readonly CallSpan[], order: readonly string[], stepMs = 0.1): Map<string, number> {
  const out = new Map<string, number>([...order, 'other'].map((k) => [k, 0]));
  const inside = spans.filter((s) => s.to > window.from && s.from < window.to);
  for (let t = window.from; t < window.to; t += stepMs) {
    const kind = order.find((k) => inside.some((s) => s.what === k && s.from <= t && t < s.to)) ?? 'other';
    out.set(kind, out.get(kind)! + Math.min(stepMs, window.to - t));
  }
  return out;
}
