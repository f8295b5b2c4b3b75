/**
 * One pass of the relay over its book: read the interface, let planTick decide swaps,
 * removals and expiries a slice of families at a time, gather tie evidence, and apply
 * what changed in one `wg set`; a pass that finds nothing to do is remembered until a
 * change or an expiry, and tells the poller whether to poll fast.
 */
import { familySlices, joinPlans, sameBook, slicePlanUnchanged } from '../protocol/plan-slices.js';
import { planTick } from '../protocol/plan-tick.js';
import type { PeerEvent, Plan, RelayBook, Timeouts } from '../protocol/relay-book.js';
import { yieldToEventLoop } from '../yield.js';
import type { RelayWg, WgPeerChange } from '../wg/types.js';
import type { Clock } from './clock.js';
import type { EphemeralSummary } from './ephemeral-summary.js';
import type { InterfaceView } from './interface-view.js';
import { BATCH_READ_MAX_AGE_MS } from './registration-batch.js';
import type { SerialQueue } from './serial.js';
import { TieWatch } from './tie-watch.js';

/** Parents planned per synchronous step of a pass (a millisecond or two each). */
export const PLAN_SLICE = 500;

/** What a pass needs of the relay: the lock, the view, the book and how to change it. */
export interface TickHost {
  readonly iface: string;
  readonly wg: RelayWg;
  readonly lock: SerialQueue;
  readonly view: InterfaceView;
  readonly clock: Clock;
  readonly timeouts: Timeouts;
  readonly summary: EphemeralSummary;
  book(): RelayBook;
  /** Counts `wg set`s (attempted), so a read made outside the lock can tell it is stale. */
  setCount(): number;
  /** A `wg set` is running: a read started now may see it half done. */
  setRunning(): boolean;
  /** Apply a plan's book and changes (one `wg set`, write-ahead). */
  apply(next: RelayBook, groups: readonly (readonly WgPeerChange[])[]): Promise<void>;
  countEvents(events: readonly PeerEvent[]): void;
  /** Resolves once the book is stored. */
  written(): Promise<void>;
}

/** The passes of one relay, with what the last one found and the ties it watches. */
export class RelayTick {
  readonly #host: TickHost;
  /** Families tied on a handshake second, and what their counters said. */
  readonly #ties: TieWatch;
  /** The last pass that found nothing to do: until a change or an expiry, planning again would find the same. */
  #settled: { readonly book: RelayBook; readonly version: number; readonly until: number } | undefined;

  constructor(host: TickHost) {
    this.#host = host;
    const { wg, iface } = host;
    this.#ties = new TieWatch(
      wg.receivedBytes === undefined ? null : (peers) => wg.receivedBytes!(iface, peers),
      wg.frameErrors === undefined ? null : () => wg.frameErrors!(iface),
    );
  }

  /**
   * One pass (see Relay.tick). `handshakesOnly` reads latest handshakes alone and plans on
   * the cached allowed-ips; a plan that would change anything is made again on a full read
   * first, unless the last full read is recent (as a batch's may be).
   */
  async run(handshakesOnly: boolean): Promise<readonly PeerEvent[]> {
    const host = this.#host;
    const view = host.view;
    // Read before taking the lock, so registrations are not held up behind `wg show`;
    // if a `wg set` ran meanwhile the read is stale and is done again under the lock.
    // (Read even with an empty book: requests authenticate against this view.)
    const version = host.setRunning() ? -1 : host.setCount();
    await view.refreshOwnKey();
    const early = handshakesOnly ? await view.readHandshakes() : await view.read();
    const events = await host.lock.run(async (): Promise<readonly PeerEvent[]> => {
      let full = Array.isArray(early);
      const stale = host.setCount() !== version;
      let index = stale ? null : Array.isArray(early) ? await view.installInSlices(early) : await view.installHandshakes(early);
      if (index === null && stale) {
        // Only our own `wg set`s (already in the cache) made the read stale: read the
        // handshakes again, one `wg` process, rather than everything under the lock, which
        // registrations would wait for (in a herd after a restart, every pass's read is
        // overtaken by a batch). The full read is then still due: the next pass tries it.
        index = await view.installHandshakes(await view.readHandshakes());
        full = false;
      }
      if (index === null) {
        index = await view.refresh();
        full = true;
      }
      let observed = false;
      for (;;) {
        const book = host.book();
        if (book.parents.length === 0 && book.ephemerals.length === 0) return [];
        const settled = this.#settled;
        // An undecided tie is read each pass: its counters may decide it with nothing else changed.
        if (settled !== undefined && settled.book === book && settled.version === index.version && host.clock.now() <= settled.until && !this.#ties.watching) return [];
        // Reading and planning 10 000 families take tens of milliseconds: plan them a slice
        // at a time and let requests in between (the lock keeps the book and view still).
        const now = host.clock.now();
        const slices = familySlices(book, PLAN_SLICE);
        const plans: Plan[] = [];
        for (const slice of slices) {
          await yieldToEventLoop();
          plans.push(planTick(slice, index, now, host.timeouts, this.#ties.received));
        }
        // Ties are rare: the counters are read (once a pass) only while one stands undecided.
        if (!observed) {
          observed = true;
          if (await this.#ties.observe(plans.flatMap((p) => p.ties ?? []), host.clock.now())) continue;
        }
        // Most passes change nothing: tell so slice by slice, without joining the plans
        // or comparing the whole book in one task.
        let unchanged = await unchangedBySlices(book, slices, plans);
        const plan = unchanged ? null : joinPlans(plans);
        if (plan !== null && plan.changes.length === 0 && plan.events.length === 0) {
          await yieldToEventLoop();
          unchanged = sameBook(book, plan.book);
        }
        if (unchanged || plan === null) {
          await yieldToEventLoop();
          this.#settled = { book, version: index.version, until: host.summary.of(book, index, now).holdsUntil };
          return [];
        }
        // The plan moves allowed-ips as cached: when the last full read is older than a
        // batch would plan on (BATCH_READ_MAX_AGE_MS, and the same reasoning), read
        // everything and plan again; else apply it now, so the client whose handshake this
        // pass saw gets its addresses without waiting on two more `wg` processes.
        if (!full && host.clock.now() - view.fullReadAt > BATCH_READ_MAX_AGE_MS) {
          index = await view.refresh();
          full = true;
          continue;
        }
        await host.apply(plan.book, plan.changes);
        host.countEvents(plan.events);
        return plan.events;
      }
    });
    // A pass returns with its book stored (outside the lock: registrations need not wait).
    await host.written();
    return events;
  }

  /**
   * The poller's tick: between full reads, at most `idleMs` apart, only latest
   * handshakes are read (at 10 000 peers, half the processes and the cheaper half of the
   * parsing, four times a second while a registration is pending).
   */
  async pollerTick(idleMs: number): Promise<readonly PeerEvent[]> {
    const events = await this.run(this.#host.clock.now() - this.#host.view.fullReadAt < idleMs);
    // The watcher asks next whether to poll fast, which may summarize the whole book anew.
    await yieldToEventLoop();
    return events;
  }

  /** Whether any ephemeral is on the interface and has not yet handshaken (the poller's burst waits on it). */
  anyPending(): boolean {
    const host = this.#host;
    return host.summary.of(host.book(), host.view.index, host.clock.now()).anyPending;
  }

  /** Poll fast while any ephemeral is pending or freshly registered, or a tie wants reading. */
  wantsFastPoll(freshMs: number): boolean {
    const host = this.#host;
    const now = host.clock.now();
    const counts = host.summary.of(host.book(), host.view.index, now);
    return counts.anyPending || now - counts.newestRegisteredAt < freshMs || this.#ties.urgent(now, freshMs);
  }
}

/**
 * Whether the plans of `familySlices(book)` change nothing, checked a slice per task:
 * each slice's plan is empty and keeps its slice's book, and the slices hold every
 * ephemeral exactly once (none orphaned, none in two slices). Then the joined plan keeps
 * the whole book as `sameBook` judges it; otherwise the caller joins and judges whole.
 */
async function unchangedBySlices(book: RelayBook, slices: readonly RelayBook[], plans: readonly Plan[]): Promise<boolean> {
  let ephemerals = 0;
  for (const [i, slice] of slices.entries()) {
    if (i > 0) await yieldToEventLoop();
    if (!slicePlanUnchanged(slice, plans[i]!)) return false;
    ephemerals += slice.ephemerals.length;
  }
  return ephemerals === book.ephemerals.length;
}
