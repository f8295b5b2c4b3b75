/**
 * Watches requests that are still arriving on the gRPC listener's connections and closes
 * the connections that stall: a message must arrive whole before its deadline, and when a
 * source (or the listener as a whole) holds too many partly received bytes or too many
 * connections, its oldest stalled connection makes room instead of a new one being
 * refused — so a client behind the same address as an attacker still gets through.
 *
 * grpc-js keeps a message's bytes until the message is whole, so a client that declares a
 * large message and never sends its last byte pins that memory. The watch sees a call
 * start (its headers) and its message finish through a server interceptor, and how many
 * bytes each connection has read from its socket; the bytes read since a connection's last
 * finished message are what it holds in partial messages (framing included, so a slight
 * overestimate).
 */
import type { Socket } from 'node:net';

/** The transport's limits on requests still arriving (part of the listener's limits). */
export interface StallLimits {
  /** A message must arrive whole within this long of its call's headers, or its connection is closed. */
  readonly messageDeadlineMs: number;
  /**
   * A connection with a message arriving counts as stalled once it has read nothing for
   * this long, or less than `minBytesPerSecond` over the last such window.
   */
  readonly stallWindowMs: number;
  /** Below this average rate over a `stallWindowMs` window an arriving message counts as stalled. */
  readonly minBytesPerSecond: number;
  /** Partly received request bytes one source address may hold before its stalled connections are closed. */
  readonly maxPartialBytesPerSource: number;
  /** Partly received request bytes the listener holds in all before stalled connections are closed. */
  readonly maxPartialBytes: number;
}

/** Why a stalled connection was closed (a metrics label and a log field). */
export type StallReason = 'deadline' | 'source_budget' | 'total_budget' | 'source_slots' | 'total_slots';

/** What the relay logs about one closed connection. */
export interface StalledClose {
  readonly source: string;
  readonly reason: StallReason;
  /** Partly received bytes the connection held. */
  readonly heldBytes: number;
  /** How long its oldest unfinished message had been arriving. */
  readonly arrivingMs: number;
}

/** One call as the watch sees it; `messageWhole` and `ended` may be called in any order, more than once. */
export interface CallTicket {
  /** The call's request arrived whole (`bytes` on the wire when known). */
  messageWhole(bytes: number | undefined): void;
  /** The call ended (answered, cancelled or refused). */
  ended(): void;
}

interface Watched {
  readonly socket: Socket;
  readonly source: string;
  /** Calls started and not ended. */
  calls: number;
  /** Start times of messages not yet whole, by call number. */
  readonly arriving: Map<number, number>;
  /** Bytes read that belong to finished messages or framing (not partial). */
  settled: number;
  /** When the connection last started, finished or ended a call, or read (for idleness). */
  lastActivity: number;
  /** Bytes read at the last look, and when that count last grew. */
  lastRead: number;
  lastProgress: number;
  /** The current rate window: its start and the bytes read then. */
  windowAt: number;
  windowRead: number;
  /** Whether the last complete window was below the minimum rate. */
  slow: boolean;
}

/** The message prefix gRPC puts before every message (flag byte and 4-byte length). */
const GRPC_PREFIX_BYTES = 5;

/**
 * The listener's view of requests in progress. Memory is bounded by the listener's
 * connection cap (one entry per open connection, one map entry per open call).
 */
export class StallWatch {
  readonly #byKey = new Map<string, Watched>();
  readonly #limits: StallLimits;
  readonly #now: () => number;
  readonly #onClose: (close: StalledClose) => void;
  #nextCall = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Stalled connections closed, by reason. */
  readonly closed: Record<StallReason, number> = { deadline: 0, source_budget: 0, total_budget: 0, source_slots: 0, total_slots: 0 };

  constructor(limits: StallLimits, onClose: (close: StalledClose) => void, now: () => number = Date.now) {
    this.#limits = limits;
    this.#onClose = onClose;
    this.#now = now;
  }

  /** Start watching an admitted connection; forgotten when its socket closes. */
  track(socket: Socket, source: string): void {
    const key = socketKey(socket.remoteAddress, socket.remotePort);
    const now = this.#now();
    const watched: Watched = {
      socket,
      source,
      calls: 0,
      arriving: new Map(),
      settled: 0,
      lastActivity: now,
      lastRead: 0,
      lastProgress: now,
      windowAt: now,
      windowRead: 0,
      slow: false,
    };
    this.#byKey.set(key, watched);
    socket.once('close', () => {
      if (this.#byKey.get(key) === watched) this.#byKey.delete(key);
    });
  }

  /** A call's headers arrived on the connection from `address`:`port` (as grpc-js reports it). */
  callStarted(address: string | undefined, port: number | undefined): CallTicket {
    const watched = this.#byKey.get(socketKey(address, port));
    if (watched === undefined) return NO_TICKET;
    const id = this.#nextCall++;
    const now = this.#now();
    if (watched.arriving.size === 0) {
      // What the connection read before this message is not partial; its clocks start now.
      const read = watched.socket.bytesRead;
      watched.settled = read;
      watched.lastRead = read;
      watched.lastProgress = now;
      watched.windowAt = now;
      watched.windowRead = read;
      watched.slow = false;
    }
    watched.calls++;
    watched.arriving.set(id, now);
    watched.lastActivity = now;
    this.#schedule();
    let open = true;
    const whole = (bytes: number | undefined): void => {
      if (!watched.arriving.delete(id)) return;
      watched.lastActivity = this.#now();
      if (watched.arriving.size === 0) watched.settled = watched.socket.bytesRead;
      else if (bytes !== undefined) watched.settled += bytes + GRPC_PREFIX_BYTES;
    };
    return {
      messageWhole: whole,
      ended: () => {
        if (!open) return;
        open = false;
        whole(undefined);
        watched.calls--;
        watched.lastActivity = this.#now();
      },
    };
  }

  /**
   * Make room for a new connection from `source` when the source (`sourceFull`) or else
   * the listener has no free slot. Goes first the oldest stalled connection, then one
   * that carries no call and has been quiet for a window — the source's own when the
   * source is full. A full source's new connection gets in even when none of those
   * exists: the source's connection whose request has been arriving longest goes. A
   * newcomer and a stalling attacker from one address look alike when they connect, and
   * an attacker who reconnects at once would take every slot the moment it is judged
   * stalled; only afterwards does the honest one send its request whole. So the newest
   * connection gets the slot, and a connection whose request is whole (being answered)
   * is never closed for it. The price: a slow upload from an address whose slots are all
   * taken, none of them stalled, gives way to that address's next connection.
   * Returns the closed connection, or undefined when none could go (the new one is then
   * refused).
   */
  makeRoom(source: string, sourceFull: boolean): { readonly socket: Socket; readonly source: string } | undefined {
    const now = this.#now();
    const mine = (w: Watched): boolean => !w.socket.destroyed && (!sourceFull || w.source === source);
    const victim =
      this.#oldest((w) => mine(w) && this.#stalled(w, now)) ??
      this.#oldest((w) => mine(w) && w.calls === 0 && now - w.lastActivity >= this.#limits.stallWindowMs) ??
      (sourceFull ? this.#oldest((w) => mine(w) && this.#lagging(w, now)) : undefined);
    if (victim === undefined) return undefined;
    this.#close(victim, sourceFull ? 'source_slots' : 'total_slots', now);
    return victim;
  }

  /** Partly received request bytes held now, in all. */
  get partialBytes(): number {
    let sum = 0;
    for (const w of this.#byKey.values()) sum += partial(w);
    return sum;
  }

  /** Stop the timer (the listener is closing). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass: roll rate windows, enforce deadlines, then the budgets. */
  sweep(): void {
    const now = this.#now();
    let arriving = 0;
    for (const w of [...this.#byKey.values()]) {
      if (w.arriving.size === 0) continue;
      arriving++;
      const read = this.#look(w, now);
      const span = now - w.windowAt;
      if (span >= this.#limits.stallWindowMs) {
        w.slow = read - w.windowRead < (this.#limits.minBytesPerSecond * span) / 1000;
        w.windowAt = now;
        w.windowRead = read;
      }
      const oldest = Math.min(...w.arriving.values());
      if (now - oldest > this.#limits.messageDeadlineMs) this.#close(w, 'deadline', now);
    }
    if (arriving === 0) {
      this.stop();
      return;
    }
    const bySource = new Map<string, number>();
    let total = 0;
    for (const w of this.#byKey.values()) {
      const held = partial(w);
      if (held === 0) continue;
      bySource.set(w.source, (bySource.get(w.source) ?? 0) + held);
      total += held;
    }
    for (const [source, held] of bySource) {
      let over = held - this.#limits.maxPartialBytesPerSource;
      while (over > 0) {
        // Only stalled connections: closing ones that still send would let the source's
        // reopened, fresh connections fill its slots with nothing old enough to make room.
        const victim = this.#oldest((w) => w.source === source && partial(w) > 0 && this.#stalled(w, now));
        if (victim === undefined) break;
        over -= partial(victim);
        total -= partial(victim);
        this.#close(victim, 'source_budget', now);
      }
    }
    let over = total - this.#limits.maxPartialBytes;
    while (over > 0) {
      const victim = this.#overBudgetVictim(now);
      if (victim === undefined) break;
      over -= partial(victim);
      this.#close(victim, 'total_budget', now);
    }
  }

  /**
   * Over the listener's budget, the stalled connection whose message has been arriving
   * longest goes first; when none is stalled (every sender keeps the minimum rate) the
   * oldest arriving one goes anyway, because this budget is what bounds the memory.
   */
  #overBudgetVictim(now: number): Watched | undefined {
    const holding = (w: Watched): boolean => partial(w) > 0;
    return this.#oldest((w) => holding(w) && this.#stalled(w, now)) ?? this.#oldest(holding);
  }

  /** Read nothing for a window, or too little over the last one, while a message arrives. */
  #stalled(w: Watched, now: number): boolean {
    if (w.arriving.size === 0 || w.socket.destroyed) return false;
    this.#look(w, now);
    return w.slow || now - w.lastProgress >= this.#limits.stallWindowMs;
  }

  /**
   * A request that has been arriving for a moment (a 80th of a window, 50 ms by default:
   * longer than a small request takes to be handed over once its bytes are in) on a
   * connection with no answered call aboard.
   */
  #lagging(w: Watched, now: number): boolean {
    if (w.arriving.size === 0 || w.calls !== w.arriving.size) return false;
    return now - Math.min(...w.arriving.values()) >= this.#limits.stallWindowMs / 80;
  }

  /** The connection's bytes read now, noting progress. */
  #look(w: Watched, now: number): number {
    const read = w.socket.bytesRead;
    if (read > w.lastRead) {
      w.lastRead = read;
      w.lastProgress = now;
      w.lastActivity = now;
    }
    return read;
  }

  /** The connection matching `pick` whose oldest arriving message (or last activity) is earliest. */
  #oldest(pick: (w: Watched) => boolean): Watched | undefined {
    let best: Watched | undefined;
    let bestAt = Infinity;
    for (const w of this.#byKey.values()) {
      if (!pick(w)) continue;
      const at = w.arriving.size > 0 ? Math.min(...w.arriving.values()) : w.lastActivity;
      if (at < bestAt) {
        best = w;
        bestAt = at;
      }
    }
    return best;
  }

  #close(w: Watched, reason: StallReason, now: number): void {
    if (w.socket.destroyed) return;
    const started = w.arriving.size > 0 ? Math.min(...w.arriving.values()) : now;
    const heldBytes = partial(w);
    this.closed[reason]++;
    w.socket.destroy();
    this.#onClose({ source: w.source, reason, heldBytes, arrivingMs: now - started });
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    // A tick a second (or faster for short test limits) while any message is arriving.
    const tick = Math.max(10, Math.min(1000, this.#limits.stallWindowMs / 4));
    this.#timer = setInterval(() => this.sweep(), tick);
    this.#timer.unref();
  }
}

const NO_TICKET: CallTicket = Object.freeze({ messageWhole: () => undefined, ended: () => undefined });

function partial(w: Watched): number {
  return w.arriving.size === 0 || w.socket.destroyed ? 0 : Math.max(0, w.socket.bytesRead - w.settled);
}

function socketKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? ''}`;
}
