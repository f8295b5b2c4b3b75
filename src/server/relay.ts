/**
 * The relay: carries out the decisions of src/protocol's relay rules (plan-*.ts) on a real
 * interface, from open to close. Per request: per-source refusal budget → validate and
 * authenticate against the cached interface view (admission.ts) → rate-limit →
 * encapsulate (outside the interface lock) → join the next batch (registration-batch.ts).
 * Passes (relay-tick.ts), the poller (handshake-poller.ts), the cache (interface-view.ts) and the
 * write-ahead book (book-keeper.ts) live apart; one injected clock (clock.ts) drives them all.
 */
import { meaningOf } from '../error-table.js';
import { PqpskError, isPqpskError } from '../errors.js';
import { keyTag } from '../protocol/keys.js';
import type { ReceivedRegisterRequest, RegisterResponseInput } from '../protocol/messages.js';
import { STRICT_AUTH } from '../protocol/authenticate.js';
import { planRecovery } from '../protocol/plan-recovery.js';
import { planRelease } from '../protocol/plan-release.js';
import type { PeerEvent, Plan, RelayBook, Timeouts } from '../protocol/relay-book.js';
import type { RelayWg, WgPeerChange } from '../wg/types.js';
import { Admission } from './admission.js';
import type { BookStore } from './book-store.js';
import { asClock, type Clock } from './clock.js';
import { encapsulateAll, type KemProvider } from './encapsulate.js';
import { EphemeralSummary } from './ephemeral-summary.js';
import { InterfaceView } from './interface-view.js';
import { DEFAULT_RATE_LIMIT, DEFAULT_REFUSAL_BUDGET, InflightGate, RateLimiter, type RateLimit } from './limits.js';
import { RegistrationBatch, cancelledError } from './registration-batch.js';
import { RelayTick } from './relay-tick.js';
import { SerialQueue } from './serial.js';
import { SILENT_LOGGER, describeError, type LogLevel, type Logger } from './log.js';
import { RelayMetrics, type RegistrationResult } from './metrics.js';
import { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, PENDING_TIMEOUT_MS } from './defaults.js';
import { DEFAULT_POLL, HandshakePoller, type PollIntervals } from './handshake-poller.js';
import { BookKeeper } from './book-keeper.js';

/** Refusal-budget tokens a source must have regained before it may connect again. */
export const RECONNECT_TOKENS = 5;

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

/** The relay for one WireGuard interface. Create with `Relay.open`. */
export class Relay {
  readonly iface: string;
  readonly metrics: RelayMetrics;
  readonly #wg: RelayWg;
  readonly #kems: KemProvider;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #gate: InflightGate;
  readonly #rate: RateLimiter | null;
  readonly #refusals: RateLimiter | null;
  readonly #poll: PollIntervals;
  readonly #view: InterfaceView;
  readonly #keeper: BookKeeper;
  readonly #watcher: HandshakePoller;
  readonly #summary: EphemeralSummary;
  readonly #admission: Admission;
  readonly #batch: RegistrationBatch;
  readonly #ticks: RelayTick;
  /** Every change of the book or of the interface's peers runs inside this lock. */
  readonly #lock = new SerialQueue();
  #closing = false;
  /** Counts `wg set`s (attempted), so a read made outside the lock can tell it is stale. */
  #changes = 0;
  /** A `wg set` is running: a read started now may see it half done. */
  #setting = false;

  private constructor(options: RelayOptions, keeper: BookKeeper, view: InterfaceView, clock: Clock) {
    this.iface = options.iface;
    this.#wg = options.wg;
    // The first batch's FIFOs, made ahead as every later batch's are (see `done` below).
    this.#wg.prepareSet?.(1);
    this.#kems = options.kems;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.metrics = options.metrics ?? new RelayMetrics();
    this.#clock = clock;
    const timeouts: Timeouts = {
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
    this.#view = view;
    this.#keeper = keeper;
    this.#summary = new EphemeralSummary(timeouts);
    // What the parts below share: the lock, the cached view, the clock and the book.
    const core = { lock: this.#lock, view, clock, book: (): RelayBook => keeper.book };
    const policy = options.allowWideParents === true ? { allowWideParents: true } : STRICT_AUTH;
    this.#admission = new Admission({ ...core, policy });
    this.#batch = new RegistrationBatch({
      ...core,
      recheck: (next, index, q) => this.#admission.recheck(next, index, q),
      commit: (next, changes) => keeper.commit(next, () => this.#set(changes)),
      done: (count, events) => {
        this.metrics.batch(count);
        this.#countEvents(events);
        // The next batch's FIFOs, sized like this one, made before it comes: off its path.
        this.#wg.prepareSet?.(count);
      },
    });
    this.#ticks = new RelayTick({
      ...core,
      iface: this.iface,
      wg: this.#wg,
      timeouts,
      summary: this.#summary,
      setCount: () => this.#changes,
      setRunning: () => this.#setting,
      apply: (next, groups) => this.#apply(next, groups),
      countEvents: (events) => this.#countEvents(events),
      written: () => keeper.written(),
    });
    this.#watcher = new HandshakePoller(
      { tick: () => this.#ticks.pollerTick(this.#poll.idleMs), wantsFastPoll: () => this.#ticks.wantsFastPoll(this.#poll.freshMs), anyPending: () => this.#ticks.anyPending() },
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
    // Authenticate against the cached view before any costly work.
    const { kems, ...admitted } = await this.#admission.admit(request, context.peerAddress, context.requestBytes, line);
    this.#rate?.take(admitted.parent);
    abortIfCancelled(context);

    const encapsulated = await encapsulateAll(kems, this.#kems);
    try {
      line['encaps_ms'] = Object.fromEntries(encapsulated.timings.map((t) => [t.algorithm, round(t.ms)]));
      for (const t of encapsulated.timings) this.metrics.encapsulation(t.algorithm, t.ms / 1000);
      abortIfCancelled(context);
      const psk = encapsulated.psk.bytes();
      line['replaced'] = await this.#batch.join({ ...admitted, psk, signal: context.signal });
    } finally {
      encapsulated.psk.wipe();
    }
    this.#watcher.wake();
    return { post_quantum: { ciphertexts: [...encapsulated.ciphertexts] } };
  }

  /**
   * One pass: read the interface, let planTick decide swaps, removals and expiries, and
   * apply them in one `wg set` (relay-tick.ts). Public so tests can step it.
   * `handshakesOnly` reads latest handshakes alone and plans on the cached allowed-ips.
   */
  tick(handshakesOnly = false): Promise<readonly PeerEvent[]> {
    return this.#ticks.run(handshakesOnly);
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
    } catch (err) {
      this.#view.distrust();
      throw err;
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
}

/** The metrics label of a failed registration: its row of the error table. */
export function resultFor(err: unknown): RegistrationResult {
  return meaningOf(err).metric;
}

function abortIfCancelled(context: CallContext): void {
  if (context.signal?.aborted === true) throw cancelledError();
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
