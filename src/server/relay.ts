/**
 * The relay: carries out the decisions of src/protocol's relay rules (plan-*.ts) on a real interface.
 * Per request: admission (per-source refusal budget) → validate → authenticate against
 * the cached interface view → rate-limit → encapsulate (outside the interface lock) →
 * join the next batch. A batch runs under the lock: one read of the interface, each
 * request re-authenticated and planned in turn, ONE `wg set` for all of them (each new
 * ephemeral with its PSK and no allowed-ips, plus the plans' removals) and one
 * write-ahead commit of the book (book-keeper.ts). The poller (handshake-poller.ts) and the
 * cache (interface-view.ts) live apart; one injected clock (clock.ts) drives them all.
 */
import { meaningOf } from '../error-table.js';
import { PqpskError, isPqpskError } from '../errors.js';
import { keyTag } from '../protocol/keys.js';
import { publicKeyToText } from '../wg/keys.js';
import type { ReceivedRegisterRequest, RegisterResponseInput } from '../protocol/messages.js';
import { authenticate, STRICT_AUTH, type AuthPolicy } from '../protocol/authenticate.js';
import { planRecovery } from '../protocol/plan-recovery.js';
import { planRegistration } from '../protocol/plan-registration.js';
import { planRelease } from '../protocol/plan-release.js';
import { familySlices, joinPlans, sameBook, slicePlanUnchanged } from '../protocol/plan-slices.js';
import { planTick } from '../protocol/plan-tick.js';
import type { PeerEvent, Plan, RelayBook, Timeouts } from '../protocol/relay-book.js';
import { validateRegisterRequest } from '../protocol/request.js';
import { yieldToEventLoop } from '../yield.js';
import type { RelayWg, WgPeerChange } from '../wg/types.js';
import type { BookStore } from './book-store.js';
import { asClock, type Clock } from './clock.js';
import { encapsulateAll, type KemProvider } from './encapsulate.js';
import { EphemeralSummary } from './ephemeral-summary.js';
import { InterfaceView } from './interface-view.js';
import { DEFAULT_RATE_LIMIT, DEFAULT_REFUSAL_BUDGET, InflightGate, RateLimiter, type RateLimit } from './limits.js';
import { SerialQueue } from './serial.js';
import { TieWatch } from './tie-watch.js';
import { SILENT_LOGGER, describeError, type LogLevel, type Logger } from './log.js';
import { RelayMetrics, type RegistrationResult } from './metrics.js';
import { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, PENDING_TIMEOUT_MS } from './defaults.js';
import { DEFAULT_POLL, HandshakePoller, type PollIntervals } from './handshake-poller.js';
import { BookKeeper } from './book-keeper.js';

export { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, PENDING_TIMEOUT_MS };
export { unionBook } from './book-keeper.js';
export { DEFAULT_POLL, type PollIntervals } from './handshake-poller.js';

/** A refused request may trigger a fresh read of the interface at most this often (all sources together). */
export const REREAD_MS = 1000;
/** Refusal-budget tokens a source must have regained before it may connect again. */
export const RECONNECT_TOKENS = 5;
/** Parents planned per synchronous step of a watcher pass (a millisecond or two each). */
export const PLAN_SLICE = 500;
/** Most registrations one batch carries into one `wg set` (bounds the argv and the lock's hold). */
export const MAX_BATCH = 64;

export interface RelayOptions {
  readonly iface: string;
  readonly wg: RelayWg;
  readonly store: BookStore;
  readonly kems: KemProvider;
  readonly logger?: Logger;
  readonly metrics?: RelayMetrics;
  /** Wall clock and timers; a bare `() => ms` gets real timers. */
  readonly clock?: Clock | (() => number);
  readonly ephemeralTtlMs?: number;
  readonly pendingTimeoutMs?: number;
  readonly maxInflight?: number;
  /** Per-parent rate limit; null turns it off (benchmarks). */
  readonly rateLimit?: RateLimit | null;
  /** Per-source budget of refused requests; null turns it off. */
  readonly refusalBudget?: RateLimit | null;
  readonly poll?: PollIntervals;
  /** Accept parents whose allowed-ips are wider than host routes. */
  readonly allowWideParents?: boolean;
}

/** What a handler knows of a call besides its request (src/rpc's RegisterCallContext). */
export interface CallContext {
  readonly peerAddress: string;
  readonly signal?: AbortSignal;
  /** Encoded size of the request, when the transport knows it: checked against its algorithms. */
  readonly requestBytes?: number | undefined;
}

/** A registration that passed authentication and encapsulation, waiting for the next batch. */
interface Queued {
  readonly claimed: string;
  readonly parent: string;
  readonly ephemeral: string;
  readonly source: string;
  readonly psk: Uint8Array;
  readonly done: (replaced: number) => void;
  readonly fail: (err: unknown) => void;
}

/** The relay for one WireGuard interface. Create with `Relay.open`. */
export class Relay {
  readonly iface: string;
  readonly metrics: RelayMetrics;
  readonly #wg: RelayWg;
  readonly #kems: KemProvider;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timeouts: Timeouts;
  readonly #gate: InflightGate;
  readonly #rate: RateLimiter | null;
  readonly #refusals: RateLimiter | null;
  readonly #poll: PollIntervals;
  readonly #policy: AuthPolicy;
  readonly #view: InterfaceView;
  readonly #keeper: BookKeeper;
  readonly #watcher: HandshakePoller;
  readonly #summary: EphemeralSummary;
  /** Families tied on a handshake second, and what their counters said. */
  readonly #ties: TieWatch;
  /** The last pass that found nothing to do: until a change or an expiry, planning again would find the same. */
  #settled: { readonly book: RelayBook; readonly version: number; readonly until: number } | undefined;
  /** Every change of the book or of the interface's peers runs inside this lock. */
  readonly #lock = new SerialQueue();
  /** Registrations waiting for the lock; bounded by the in-flight gate. */
  #queue: Queued[] = [];
  #flushQueued = false;
  #closing = false;
  #lastReread = Number.NEGATIVE_INFINITY;
  /** Counts `wg set`s (attempted), so a read made outside the lock can tell it is stale. */
  #changes = 0;
  /** A `wg set` is running: a read started now may see it half done. */
  #setting = false;
  #reread: Promise<unknown> | undefined;

  private constructor(options: RelayOptions, keeper: BookKeeper, view: InterfaceView, clock: Clock) {
    this.iface = options.iface;
    this.#wg = options.wg;
    this.#kems = options.kems;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.metrics = options.metrics ?? new RelayMetrics();
    this.#clock = clock;
    this.#timeouts = {
      pendingMs: options.pendingTimeoutMs ?? PENDING_TIMEOUT_MS,
      idleMs: options.ephemeralTtlMs ?? DEFAULT_EPHEMERAL_TTL_MS,
    };
    this.#gate = new InflightGate(options.maxInflight ?? DEFAULT_MAX_INFLIGHT);
    const now = (): number => this.#clock.now();
    const rate = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
    this.#rate = rate === null ? null : new RateLimiter(rate, now);
    const budget = options.refusalBudget === undefined ? DEFAULT_REFUSAL_BUDGET : options.refusalBudget;
    this.#refusals = budget === null ? null : new RateLimiter(budget, now);
    this.#poll = options.poll ?? DEFAULT_POLL;
    this.#policy = options.allowWideParents === true ? { allowWideParents: true } : STRICT_AUTH;
    this.#view = view;
    this.#keeper = keeper;
    this.#summary = new EphemeralSummary(this.#timeouts);
    const wg = this.#wg;
    this.#ties = new TieWatch(
      wg.receivedBytes === undefined ? null : (peers) => wg.receivedBytes!(this.iface, peers),
      wg.frameErrors === undefined ? null : () => wg.frameErrors!(this.iface),
    );
    this.#watcher = new HandshakePoller(
      { tick: () => this.#watcherPass(), wantsFastPoll: () => this.#wantsFastPoll() },
      clock,
      this.#poll,
      this.#logger,
      this.iface,
    );
    this.metrics.setGaugeSource(() => ({ ...this.#peerCounts(), inflight: this.#gate.count }));
  }

  /**
   * Read the interface (NOT_FOUND / SETUP when it or `wg` is missing), load the book and
   * reconcile: recorded ephemerals that do not hold their family's addresses are
   * removed, and addresses go back to a parent only from its own ephemerals.
   */
  static async open(options: RelayOptions): Promise<Relay> {
    const clock = asClock(options.clock);
    const view = new InterfaceView(options.wg, options.iface, clock);
    await view.refreshOwnKey(true);
    const logger = options.logger ?? SILENT_LOGGER;
    const book = await options.store.load();
    for (const problem of options.store.problems ?? []) {
      // Loud, but never fatal: the relay keeps serving and reconciles with the interface.
      logger.log('error', { event: 'book-damaged', iface: options.iface, problem });
    }
    const keeper = new BookKeeper(book, options.store, logger, options.iface);
    const relay = new Relay(options, keeper, view, clock);
    await relay.#lock.run(async () => {
      const index = await view.refresh();
      const plan = planRecovery(book, index, clock.now());
      await relay.#apply(plan.book, plan.changes);
      await keeper.written();
      relay.#countEvents(plan.events);
      logger.log('info', {
        event: 'recovered',
        iface: relay.iface,
        ephemerals_kept: plan.book.ephemerals.length,
        ephemerals_removed: plan.events.length,
      });
    });
    return relay;
  }

  /** The current book (public keys only). */
  get book(): RelayBook {
    return this.#keeper.book;
  }

  /** Serving and not shutting down (`/healthz`). */
  get healthy(): boolean {
    return !this.#closing;
  }

  get inflight(): number {
    return this.#gate.count;
  }

  /**
   * Whether `source` may hold connections: the rpc layer closes them once its refusal
   * budget is spent, and takes new ones only after it has regained several tokens — so a
   * flooding source reconnects every few seconds, not every refill.
   */
  acceptsSource(source: string): boolean {
    return this.#refusals === null || this.#refusals.allows(source, RECONNECT_TOKENS);
  }

  /**
   * Handle one RegisterPeerV1 request. Every failure is a PqpskError whose code the rpc
   * layer maps to a status; nothing on the interface changes unless the call succeeds
   * (or fails after its batch's `wg set`, which only a `wg` fault can cause).
   */
  async register(request: ReceivedRegisterRequest, context: CallContext): Promise<RegisterResponseInput> {
    const source = context.peerAddress;
    // A source that spent its refusal budget is turned away before anything else: no
    // decoding of keys, no lookup, no log line per request.
    if (this.#refusals !== null && !this.#refusals.allows(source)) {
      this.metrics.refused('source_budget');
      this.metrics.registration('resource_exhausted', 0);
      throw new PqpskError('RESOURCE_EXHAUSTED', 'too many refused requests from this address, retry later');
    }
    const started = performance.now();
    const line: Record<string, unknown> & { event: string } = { event: 'registration', iface: this.iface };
    let result: RegistrationResult = 'ok';
    let level: LogLevel = 'info';
    try {
      if (this.#closing) throw new PqpskError('STOPPING', 'relay is shutting down');
      this.#gate.enter();
      try {
        return await this.#register(request, context, line);
      } finally {
        this.#gate.leave();
      }
    } catch (err) {
      result = resultFor(err);
      if (result === 'internal') level = 'warn';
      else if (result !== 'unavailable' && result !== 'deadline_exceeded') {
        this.#refusals?.charge(source);
        this.metrics.refused(result);
      }
      const { code, message } = describeError(err);
      line['error_code'] = code;
      line['error'] = message;
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.registration(result, seconds);
      this.#logger.log(level, { ...line, result, ms: round(seconds * 1000) });
    }
  }

  async #register(request: ReceivedRegisterRequest, context: CallContext, line: Record<string, unknown>): Promise<RegisterResponseInput> {
    const valid = validateRegisterRequest(request, context.requestBytes);
    const claimed = publicKeyToText(valid.parentKey);
    const ephemeral = publicKeyToText(valid.ephemeralKey);
    line['parent'] = keyTag(claimed);
    line['ephemeral'] = keyTag(ephemeral);
    line['algorithms'] = valid.kems.map((k) => k.name);

    // Authenticate against the cached view before any costly work: an impostor costs a
    // map lookup — no `wg` process, no parse, no HQC.
    if (ephemeral === this.#view.ownKey) throw ownKey();
    const parent = await this.#authenticateCached(claimed, context.peerAddress);
    if (parent !== claimed) line['resolved_parent'] = keyTag(parent);
    this.#rate?.take(parent);
    abortIfCancelled(context);

    const encapsulated = await encapsulateAll(valid.kems, this.#kems);
    try {
      line['encaps_ms'] = Object.fromEntries(encapsulated.timings.map((t) => [t.algorithm, round(t.ms)]));
      for (const t of encapsulated.timings) this.metrics.encapsulation(t.algorithm, t.ms / 1000);
      abortIfCancelled(context);
      const psk = encapsulated.psk.bytes();
      line['replaced'] = await new Promise<number>((done, fail) => {
        this.#queue.push({ claimed, parent, ephemeral, source: context.peerAddress, psk, done, fail });
        this.#scheduleFlush();
      });
    } finally {
      encapsulated.psk.wipe();
    }
    this.#watcher.wake();
    return { post_quantum: { ciphertexts: [...encapsulated.ciphertexts] } };
  }

  /**
   * Authenticate on the cached view; on a refusal, read the interface again at most once
   * per REREAD_MS for all requests together (a peer the operator just added is
   * recognised within a second, and a flood of refusals costs at most one read a second).
   */
  async #authenticateCached(claimed: string, source: string): Promise<string> {
    try {
      return authenticate(this.#keeper.book, this.#view.index, claimed, source, this.#policy);
    } catch (err) {
      if (!isPqpskError(err) || err.code !== 'PERMISSION_DENIED' || this.#clock.now() - this.#lastReread < REREAD_MS) throw err;
      this.#lastReread = this.#clock.now();
      this.#reread ??= this.#lock.run(() => this.#view.refresh()).finally(() => (this.#reread = undefined));
      await this.#reread;
      return authenticate(this.#keeper.book, this.#view.index, claimed, source, this.#policy);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    void this.#lock.run(() => this.#flush());
  }

  /**
   * One batch under the lock: every registration waiting now, one read, one `wg set`,
   * one commit. A request that no longer authenticates fails alone; a failed `wg set`
   * fails the whole batch (their PSKs were never confirmed set).
   */
  async #flush(): Promise<void> {
    this.#flushQueued = false;
    const batch = this.#queue.splice(0, MAX_BATCH);
    if (this.#queue.length > 0) this.#scheduleFlush();
    if (batch.length === 0) return;
    let index;
    try {
      index = await this.#view.refresh();
    } catch (err) {
      for (const q of batch) q.fail(err);
      return;
    }
    const now = this.#clock.now();
    let book = this.#keeper.book;
    const changes: WgPeerChange[] = [];
    const added = new Set<string>();
    const accepted: { q: Queued; replaced: number }[] = [];
    const events: PeerEvent[] = [];
    for (const [i, q] of batch.entries()) {
      // Each plan walks the whole book (a millisecond at 10 000 peers): let requests in between.
      if (i > 0) await yieldToEventLoop();
      try {
        if (q.ephemeral === this.#view.ownKey) throw ownKey();
        // The book or the interface may have changed while we encapsulated.
        if (authenticate(book, index, q.claimed, q.source, this.#policy) !== q.parent) throw new PqpskError('PERMISSION_DENIED', 'parent changed');
        const plan = planRegistration(book, index, q.parent, q.ephemeral, now);
        book = plan.book;
        changes.push({ publicKey: q.ephemeral, presharedKey: q.psk });
        added.add(q.ephemeral);
        index.addUnrouted(q.ephemeral);
        for (const op of plan.changes.flat()) {
          if (op.remove === true && added.delete(op.publicKey)) {
            // Registered and replaced within this batch: it never reaches the interface.
            const at = changes.findIndex((c) => c.publicKey === op.publicKey);
            if (at >= 0) changes.splice(at, 1);
          } else {
            changes.push(op);
          }
          index.removeUnrouted(op.publicKey);
        }
        events.push(...plan.events);
        accepted.push({ q, replaced: plan.events.filter((e) => e.kind === 'replaced').length });
      } catch (err) {
        q.fail(err);
      }
    }
    if (accepted.length === 0) return;
    await yieldToEventLoop();
    try {
      await this.#keeper.commit(book, () => this.#set(changes));
    } catch (err) {
      // The interface may have been changed after all: re-read it before trusting the cache.
      await this.#view.refresh().catch(() => undefined);
      for (const a of accepted) a.q.fail(err);
      return;
    }
    this.metrics.batch(accepted.length);
    this.#countEvents(events);
    for (const a of accepted) a.q.done(a.replaced);
  }

  /**
   * One watcher pass: read the interface, let planTick decide swaps, removals and
   * expiries, and apply them in one `wg set`. Public so tests can step it.
   * `handshakesOnly` reads latest handshakes alone and plans on the cached allowed-ips;
   * a plan that would change anything is made again on a full read first.
   */
  async tick(handshakesOnly = false): Promise<readonly PeerEvent[]> {
    // Read before taking the lock, so registrations are not held up behind `wg show`;
    // if a `wg set` ran meanwhile the read is stale and is done again under the lock.
    // (Read even with an empty book: requests authenticate against this view.)
    const version = this.#setting ? -1 : this.#changes;
    await this.#view.refreshOwnKey();
    const early = handshakesOnly ? await this.#view.readHandshakes() : await this.#view.read();
    const events = await this.#lock.run(async (): Promise<readonly PeerEvent[]> => {
      let full = Array.isArray(early);
      const stale = this.#changes !== version;
      let index = stale ? null : Array.isArray(early) ? await this.#view.installInSlices(early) : await this.#view.installHandshakes(early);
      if (index === null && stale && !full) {
        // Only our own `wg set`s (already in the cache) made the handshakes read stale: read
        // the handshakes again, one `wg` process, rather than everything under the lock.
        index = await this.#view.installHandshakes(await this.#view.readHandshakes());
      }
      if (index === null) {
        index = await this.#view.refresh();
        full = true;
      }
      let observed = false;
      for (;;) {
        const book = this.#keeper.book;
        if (book.parents.length === 0 && book.ephemerals.length === 0) return [];
        const settled = this.#settled;
        // An undecided tie is read each pass: its counters may decide it with nothing else changed.
        if (settled !== undefined && settled.book === book && settled.version === index.version && this.#clock.now() <= settled.until && !this.#ties.watching) return [];
        // Reading and planning 10 000 families take tens of milliseconds: plan them a slice
        // at a time and let requests in between (the lock keeps the book and view still).
        const now = this.#clock.now();
        const slices = familySlices(book, PLAN_SLICE);
        const plans: Plan[] = [];
        for (const slice of slices) {
          await yieldToEventLoop();
          plans.push(planTick(slice, index, now, this.#timeouts, this.#ties.received));
        }
        // Ties are rare: the counters are read (once a pass) only while one stands undecided.
        if (!observed) {
          observed = true;
          if (await this.#ties.observe(plans.flatMap((p) => p.ties ?? []), this.#clock.now())) continue;
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
          this.#settled = { book, version: index.version, until: this.#summary.of(book, index, now).holdsUntil };
          return [];
        }
        if (!full) {
          index = await this.#view.refresh();
          full = true;
          continue;
        }
        await this.#apply(plan.book, plan.changes);
        this.#countEvents(plan.events);
        return plan.events;
      }
    });
    // A pass returns with its book stored (outside the lock: registrations need not wait).
    await this.#keeper.written();
    return events;
  }

  /**
   * The watcher's pass: between full reads, at most `idleMs` apart, only latest
   * handshakes are read (at 10 000 peers, half the processes and the cheaper half of the
   * parsing, four times a second while a registration is pending).
   */
  async #watcherPass(): Promise<readonly PeerEvent[]> {
    const events = await this.tick(this.#clock.now() - this.#view.fullReadAt < this.#poll.idleMs);
    // The watcher asks next whether to poll fast, which may summarize the whole book anew.
    await yieldToEventLoop();
    return events;
  }

  /** Start polling latest handshakes (fast while a registration is fresh, slow when idle). */
  startWatcher(): void {
    if (!this.#closing) this.#watcher.start();
  }

  /**
   * Refuse new registrations from now on (`/healthz` turns 503). In-flight ones finish;
   * the caller waits for them (the rpc server's shutdown does) before `close()`.
   */
  beginShutdown(): void {
    this.#closing = true;
  }

  /**
   * Stop the watcher and give every parent its addresses back, in one `wg set` through
   * the write-ahead commit: after the relay nothing moves them, and a client that goes
   * back to its parent key must find them there. The relay's ephemeral peers are removed
   * with it (planRelease says why), and the book is stored empty. If the give-back fails
   * the book keeps every record, so the next start reconciles, and the error is thrown.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#watcher.stop();
    await this.#lock.idle();
    await this.#lock.run(async () => {
      let plan: Plan;
      try {
        plan = planRelease(this.#keeper.book, await this.#view.refresh());
        await this.#apply(plan.book, plan.changes);
      } catch (err) {
        // The interface is gone (wg-quick down came first): no peer is left to strand, and
        // the next start reconciles the book with the interface as it comes back.
        const gone = isPqpskError(err, 'NOT_FOUND');
        this.#logger.log(gone ? 'warn' : 'error', { event: 'give-back-failed', iface: this.iface, ...describeError(err) });
        // The book written ahead of the `wg set` already records every peer: a failure to
        // store it again must not hide why the give-back failed.
        await this.#keeper.save().catch(() => undefined);
        if (gone) return;
        throw new PqpskError('WG_FAILURE', `${this.iface}: could not give the parents their addresses back (${describeError(err).message}); the book keeps every record, so the next start reconciles`, { cause: err });
      }
      this.#countEvents(plan.events);
      this.#logger.log('info', {
        event: 'given-back',
        iface: this.iface,
        parents: plan.changes.filter((group) => group[0]?.remove !== true).length,
        ephemerals_removed: plan.events.filter((e) => e.kind === 'given-back').length,
      });
      await this.#keeper.written();
      await this.#keeper.save();
    });
  }

  /** A plan's changes, all groups in one `wg set`, through the write-ahead commit. */
  async #apply(next: RelayBook, groups: readonly (readonly WgPeerChange[])[]): Promise<void> {
    const changes = groups.flat();
    await this.#keeper.commit(next, changes.length === 0 ? null : () => this.#set(changes));
  }

  async #set(changes: readonly WgPeerChange[]): Promise<void> {
    this.#changes++;
    this.#setting = true;
    try {
      await this.#wg.set(this.iface, { peers: changes });
    } finally {
      this.#setting = false;
    }
    this.#view.apply(changes);
  }

  #countEvents(events: readonly PeerEvent[]): void {
    for (const e of events) {
      this.metrics.peerEvent(e.kind);
      const level: LogLevel = e.kind === 'released' ? 'warn' : 'info';
      this.#logger.log(level, { event: 'peer', kind: e.kind, iface: this.iface, parent: keyTag(e.parent), ephemeral: keyTag(e.ephemeral) });
    }
  }

  #peerCounts(): { live: number; pending: number } {
    const counts = this.#summary.of(this.#keeper.book, this.#view.index, this.#clock.now());
    return { live: counts.live, pending: counts.notLive };
  }

  /** Poll fast while any ephemeral is pending or freshly registered. */
  #wantsFastPoll(): boolean {
    const now = this.#clock.now();
    const counts = this.#summary.of(this.#keeper.book, this.#view.index, now);
    return counts.anyPending || now - counts.newestRegisteredAt < this.#poll.freshMs || this.#ties.urgent(now, this.#poll.freshMs);
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

/** The metrics label of a failed registration: its row of the error table. */
export function resultFor(err: unknown): RegistrationResult {
  return meaningOf(err).metric;
}

function ownKey(): PqpskError {
  return new PqpskError('INVALID_INPUT', "wg_ephemeral_peer_pubkey: is this relay's own key");
}

function abortIfCancelled(context: CallContext): void {
  if (context.signal?.aborted === true) throw new PqpskError('TIMEOUT', 'the client cancelled the call');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
