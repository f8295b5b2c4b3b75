/**
 * The relay: carries out src/protocol/peer-state.ts's decisions on a real interface
 * through WgControl. Per request: validate → authenticate → rate-limit →
 * encapsulate (outside the interface lock) → under the lock: re-read the interface,
 * re-authenticate, plan, write the book ahead, ONE `wg set` (new ephemeral with its PSK
 * and no allowed-ips, plus the plan's removals), write the book → reply.
 *
 * Write-ahead: before any `wg set`, the stored book is the union of the old and the new
 * book, so every peer pqpsk may have on the interface is recorded; a crash between the
 * two writes leaves extra records, which recovery drops, never an unrecorded peer.
 */
import { PqpskError, isPqpskError } from '../errors.js';
import { keyTag } from '../protocol/keys.js';
import { publicKeyToText } from '../wg/keys.js';
import type { ReceivedRegisterRequest, RegisterResponseInput } from '../protocol/messages.js';
import {
  authenticate,
  planRecovery,
  planRegistration,
  planTick,
  type PeerEvent,
  type PeerOp,
  type Plan,
  type RelayBook,
  type RelayPeerView,
  type Timeouts,
} from '../protocol/peer-state.js';
import { validateRegisterRequest } from '../protocol/request.js';
import type { WgControl, WgPeerChange } from '../wg/types.js';
import type { BookStore } from './book-store.js';
import { encapsulateAll, type KemProvider } from './encapsulate.js';
import { DEFAULT_RATE_LIMIT, InflightGate, RateLimiter, type RateLimit } from './limits.js';
import { SerialQueue } from './serial.js';
import { SILENT_LOGGER, describeError, type LogLevel, type Logger } from './log.js';
import { RelayMetrics, type RegistrationResult } from './metrics.js';
import { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, PENDING_TIMEOUT_MS } from './defaults.js';

export { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, PENDING_TIMEOUT_MS };

/** How often the watcher reads latest handshakes. */
export interface PollIntervals {
  /** While a registration is pending or fresh: ≤ 250 ms, so traffic resumes within 1 s. */
  readonly fastMs: number;
  /** Otherwise. */
  readonly idleMs: number;
  /** A registration counts as fresh for this long after it was made. */
  readonly freshMs: number;
}

export const DEFAULT_POLL: PollIntervals = Object.freeze({ fastMs: 250, idleMs: 2000, freshMs: 10_000 });

export interface RelayOptions {
  readonly iface: string;
  readonly wg: WgControl;
  readonly store: BookStore;
  readonly kems: KemProvider;
  readonly logger?: Logger;
  readonly metrics?: RelayMetrics;
  /** Wall clock, ms since the epoch (handshake times are wall-clock seconds). */
  readonly clock?: () => number;
  readonly ephemeralTtlMs?: number;
  readonly pendingTimeoutMs?: number;
  readonly maxInflight?: number;
  /** Per-parent rate limit; null turns it off (benchmarks). */
  readonly rateLimit?: RateLimit | null;
  readonly poll?: PollIntervals;
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
  readonly #wg: WgControl;
  readonly #store: BookStore;
  readonly #kems: KemProvider;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #timeouts: Timeouts;
  readonly #gate: InflightGate;
  readonly #rate: RateLimiter | null;
  readonly #poll: PollIntervals;
  /** Every change of the book or of the interface's peers runs inside this lock. */
  readonly #lock = new SerialQueue();
  #book: RelayBook;
  #view: readonly RelayPeerView[] = [];
  #closing = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = 0;
  #watching = false;
  #tickError: string | undefined;
  /** Per peer: the handshake second last read, and when we first saw that value. */
  readonly #seen = new Map<string, { seconds: number; observedMs: number }>();

  private constructor(options: RelayOptions, book: RelayBook) {
    this.iface = options.iface;
    this.#wg = options.wg;
    this.#store = options.store;
    this.#kems = options.kems;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.metrics = options.metrics ?? new RelayMetrics();
    this.#clock = options.clock ?? Date.now;
    this.#timeouts = {
      pendingMs: options.pendingTimeoutMs ?? PENDING_TIMEOUT_MS,
      idleMs: options.ephemeralTtlMs ?? DEFAULT_EPHEMERAL_TTL_MS,
    };
    this.#gate = new InflightGate(options.maxInflight ?? DEFAULT_MAX_INFLIGHT);
    const rate = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
    this.#rate = rate === null ? null : new RateLimiter(rate, this.#clock);
    this.#poll = options.poll ?? DEFAULT_POLL;
    this.#book = book;
    this.metrics.setGaugeSource(() => ({ ...this.#peerCounts(), inflight: this.#gate.count }));
  }

  /**
   * Read the interface (NOT_FOUND / SETUP when it or `wg` is missing), load the book and
   * reconcile: recorded ephemerals that do not hold their parent's allowed-ips are
   * removed, and a parent whose addresses are on nobody gets them back.
   */
  static async open(options: RelayOptions): Promise<Relay> {
    await options.wg.show(options.iface);
    const book = await options.store.load();
    const relay = new Relay(options, book);
    await relay.#lock.run(async () => {
      const peers = await relay.#readView();
      const plan = planRecovery(book, peers, relay.#clock());
      await relay.#applyPlan(plan);
      await relay.#save(plan.book);
      relay.#logger.log('info', {
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
    return this.#book;
  }

  /** Serving and not shutting down (`/healthz`). */
  get healthy(): boolean {
    return !this.#closing;
  }

  get inflight(): number {
    return this.#gate.count;
  }

  /**
   * Handle one RegisterPeerV1 request. Every failure is a PqpskError whose code the rpc
   * layer maps to a status; nothing on the interface changes unless the call succeeds
   * (or fails after its single `wg set`, which only a `wg` fault can cause).
   */
  async register(request: ReceivedRegisterRequest, context: CallContext): Promise<RegisterResponseInput> {
    const started = performance.now();
    const line: Record<string, unknown> & { event: string } = { event: 'registration', iface: this.iface };
    let result: RegistrationResult = 'ok';
    let level: LogLevel = 'info';
    try {
      if (this.#closing) throw new PqpskError('SETUP', 'relay is shutting down');
      this.#gate.enter();
      try {
        return await this.#register(request, context, line);
      } finally {
        this.#gate.leave();
      }
    } catch (err) {
      result = resultFor(err);
      if (result === 'internal') level = 'warn';
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

    // Authenticate before any costly work: an impostor costs one `wg show`, no HQC. (This
    // read is outside the lock, so it leaves the watcher's view alone.)
    const seen = await this.#wg.show(this.iface);
    if (ephemeral === seen.publicKey) throw ownKey();
    const parent = authenticate(this.#book, toView(seen.peers), claimed, context.peerAddress);
    if (parent !== claimed) line['resolved_parent'] = keyTag(parent);
    this.#rate?.take(parent);
    abortIfCancelled(context);

    const encapsulated = await encapsulateAll(valid.kems, this.#kems);
    try {
      line['encaps_ms'] = Object.fromEntries(encapsulated.timings.map((t) => [t.algorithm, round(t.ms)]));
      for (const t of encapsulated.timings) this.metrics.encapsulation(t.algorithm, t.ms / 1000);
      abortIfCancelled(context);
      const psk = encapsulated.psk.bytes();
      await this.#lock.run(async () => {
        const state = await this.#wg.show(this.iface);
        const peers = this.#refineHandshakes(toView(state.peers));
        this.#view = peers;
        if (ephemeral === state.publicKey) throw ownKey();
        // The book or the interface may have changed while we encapsulated.
        if (authenticate(this.#book, peers, claimed, context.peerAddress) !== parent) throw new PqpskError('PERMISSION_DENIED', 'parent changed');
        const plan = planRegistration(this.#book, peers, parent, ephemeral, this.#clock());
        const add: WgPeerChange = { publicKey: ephemeral, presharedKey: psk };
        await this.#commit(plan, [[add, ...plan.changes.flat().map(toChange)]]);
        line['replaced'] = plan.events.length;
      });
    } finally {
      encapsulated.psk.wipe();
    }
    this.#wake();
    return { post_quantum: { ciphertexts: [...encapsulated.ciphertexts] } };
  }

  /**
   * One watcher pass: read the interface, let planTick decide swaps, removals and
   * expiries, and apply them (one `wg set` per parent). Public so tests can step it.
   */
  async tick(): Promise<readonly PeerEvent[]> {
    return this.#lock.run(async () => {
      if (this.#book.parents.length === 0 && this.#book.ephemerals.length === 0) return [];
      const peers = await this.#readView();
      const plan = planTick(this.#book, peers, this.#clock(), this.#timeouts);
      if (plan.changes.length === 0 && plan.events.length === 0) return [];
      await this.#applyPlan(plan);
      await this.#save(plan.book);
      return plan.events;
    });
  }

  /** Start polling latest handshakes (fast while a registration is fresh, slow when idle). */
  startWatcher(): void {
    if (this.#watching || this.#closing) return;
    this.#watching = true;
    this.#schedule(0);
  }

  /**
   * Refuse new registrations from now on (`/healthz` turns 503). In-flight ones finish;
   * the caller waits for them (the rpc server's shutdown does) before `close()`.
   */
  beginShutdown(): void {
    this.#closing = true;
  }

  /**
   * Stop the watcher, apply one last pass (a client that just switched keeps its
   * traffic), and persist the book. The interface is left as the book describes it;
   * the next start reconciles anything still pending.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#watching = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#lock.idle();
    try {
      await this.tick();
    } catch (err) {
      this.#logger.log('warn', { event: 'final-pass-failed', iface: this.iface, ...describeError(err) });
    }
    await this.#lock.run(() => this.#save(this.#book));
  }

  async #readView(): Promise<readonly RelayPeerView[]> {
    const state = await this.#wg.show(this.iface);
    this.#view = this.#refineHandshakes(toView(state.peers));
    return this.#view;
  }

  /**
   * `wg` reports handshakes in whole seconds, so a client that switches to its ephemeral
   * key and back to its parent within one second leaves a tie, which planTick gives to
   * the ephemeral — and the parent's traffic would stay dead until its next handshake.
   * We know more than `wg` says: the order in which we *saw* each value change. Within
   * its second, each handshake gets the fraction of when we first saw it (never moved
   * into another second), so the one seen later wins; a change seen in the same poll
   * stays a tie.
   */
  #refineHandshakes(peers: RelayPeerView[]): RelayPeerView[] {
    const now = this.#clock();
    const present = new Set<string>();
    const refined = peers.map((p) => {
      present.add(p.publicKey);
      if (p.latestHandshake === 0) {
        this.#seen.delete(p.publicKey);
        return p;
      }
      let seen = this.#seen.get(p.publicKey);
      if (seen === undefined || seen.seconds !== p.latestHandshake) {
        seen = { seconds: p.latestHandshake, observedMs: now };
        this.#seen.set(p.publicKey, seen);
      }
      const fraction = Math.min(0.999, Math.max(0, seen.observedMs / 1000 - seen.seconds));
      return { ...p, latestHandshake: seen.seconds + fraction };
    });
    for (const key of [...this.#seen.keys()]) if (!present.has(key)) this.#seen.delete(key);
    return refined;
  }

  /**
   * Carry out a registration: book written ahead (old ∪ new), then exactly the given
   * `wg set` groups, then the new book. A failed `wg set` restores the old book.
   */
  async #commit(plan: Plan, groups: readonly (readonly WgPeerChange[])[]): Promise<void> {
    const before = this.#book;
    await this.#save(unionBook(before, plan.book));
    try {
      for (const peers of groups) {
        await this.#wg.set(this.iface, { peers });
        this.#view = applyToView(this.#view, peers);
      }
    } catch (err) {
      await this.#save(before).catch(() => undefined);
      throw err;
    }
    this.#book = plan.book;
    this.#countEvents(plan.events);
    await this.#saveQuietly(plan.book);
  }

  /** Apply a tick or recovery plan, group by group; after a failure the book keeps both versions. */
  async #applyPlan(plan: Plan): Promise<void> {
    const before = this.#book;
    const union = unionBook(before, plan.book);
    if (plan.changes.length > 0) await this.#save(union);
    try {
      for (const group of plan.changes) {
        const peers = group.map(toChange);
        await this.#wg.set(this.iface, { peers });
        this.#view = applyToView(this.#view, peers);
      }
    } catch (err) {
      // Some groups may be applied: remember everything; the next pass re-plans from `wg`.
      this.#book = union;
      throw err;
    }
    this.#book = plan.book;
    this.#countEvents(plan.events);
  }

  async #save(book: RelayBook): Promise<void> {
    try {
      await this.#store.save(book);
    } catch (err) {
      throw new PqpskError('INTERNAL', `cannot persist the relay book: ${describeError(err).message}`, { cause: err });
    }
  }

  /** The final write after a successful change: the stored union is already safe, so only warn. */
  async #saveQuietly(book: RelayBook): Promise<void> {
    try {
      await this.#save(book);
    } catch (err) {
      this.#logger.log('warn', { event: 'persist-failed', iface: this.iface, ...describeError(err) });
    }
  }

  #countEvents(events: readonly PeerEvent[]): void {
    for (const e of events) {
      this.metrics.peerEvent(e.kind);
      this.#logger.log('info', { event: 'peer', kind: e.kind, iface: this.iface, parent: keyTag(e.parent), ephemeral: keyTag(e.ephemeral) });
    }
  }

  #peerCounts(): { live: number; pending: number } {
    const byKey = new Map(this.#view.map((p) => [p.publicKey, p]));
    let live = 0;
    for (const e of this.#book.ephemerals) if ((byKey.get(e.ephemeral)?.allowedIps.length ?? 0) > 0) live++;
    return { live, pending: this.#book.ephemerals.length - live };
  }

  /** Poll fast while any ephemeral is pending or freshly registered. */
  #nextDelay(): number {
    const now = this.#clock();
    const byKey = new Map(this.#view.map((p) => [p.publicKey, p]));
    const fresh = this.#book.ephemerals.some(
      (e) => (byKey.get(e.ephemeral)?.latestHandshake ?? 0) === 0 || now - e.registeredAt < this.#poll.freshMs,
    );
    return fresh ? this.#poll.fastMs : this.#poll.idleMs;
  }

  #schedule(delayMs: number): void {
    if (!this.#watching) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = Date.now() + delayMs;
    this.#timer = setTimeout(() => void this.#watch(), delayMs);
    this.#timer.unref();
  }

  /** A registration just happened: switch to fast polling now rather than after an idle sleep. */
  #wake(): void {
    if (this.#watching && this.#timer !== undefined && this.#timerDue - Date.now() > this.#poll.fastMs) {
      this.#schedule(this.#poll.fastMs);
    }
  }

  async #watch(): Promise<void> {
    this.#timer = undefined;
    if (!this.#watching) return;
    try {
      await this.tick();
      if (this.#tickError !== undefined) {
        this.#logger.log('info', { event: 'watcher-recovered', iface: this.iface });
        this.#tickError = undefined;
      }
    } catch (err) {
      const { code, message } = describeError(err);
      // One line per kind of failure, not one every 250 ms.
      if (this.#tickError !== message) this.#logger.log('error', { event: 'watcher-failed', iface: this.iface, error_code: code, error: message });
      this.#tickError = message;
    }
    if (this.#watching && this.#timer === undefined) this.#schedule(this.#nextDelay());
  }
}

function toView(peers: readonly { publicKey: string; allowedIps: readonly string[]; latestHandshake: number }[]): RelayPeerView[] {
  return peers.map((p) => ({ publicKey: p.publicKey, allowedIps: [...p.allowedIps], latestHandshake: p.latestHandshake }));
}

/** What the interface looks like after a successful `wg set` (allowed-ips are unique per interface). */
function applyToView(view: readonly RelayPeerView[], changes: readonly WgPeerChange[]): RelayPeerView[] {
  let peers = view.map((p) => ({ ...p, allowedIps: [...p.allowedIps] }));
  for (const c of changes) {
    if (c.remove === true) {
      peers = peers.filter((p) => p.publicKey !== c.publicKey);
      continue;
    }
    let peer = peers.find((p) => p.publicKey === c.publicKey);
    if (peer === undefined) {
      peer = { publicKey: c.publicKey, allowedIps: [], latestHandshake: 0 };
      peers.push(peer);
    }
    if (c.allowedIps !== undefined) {
      const moved = c.allowedIps;
      for (const p of peers) p.allowedIps = p.allowedIps.filter((ip) => !moved.includes(ip));
      peer.allowedIps = [...moved];
    }
  }
  return peers;
}

function toChange(op: PeerOp): WgPeerChange {
  if (op.remove === true) return { publicKey: op.publicKey, remove: true };
  return op.allowedIps === undefined ? { publicKey: op.publicKey } : { publicKey: op.publicKey, allowedIps: [...op.allowedIps] };
}

/** Every record of either book (the newer record wins on a key present in both). */
export function unionBook(older: RelayBook, newer: RelayBook): RelayBook {
  const parents = new Map(older.parents.map((p) => [p.parent, p]));
  for (const p of newer.parents) parents.set(p.parent, p);
  const ephemerals = new Map(older.ephemerals.map((e) => [e.ephemeral, e]));
  for (const e of newer.ephemerals) ephemerals.set(e.ephemeral, e);
  return { parents: [...parents.values()], ephemerals: [...ephemerals.values()] };
}

/** The metrics label of a failed registration, matching src/rpc/status.ts's mapping. */
export function resultFor(err: unknown): RegistrationResult {
  if (!isPqpskError(err)) return 'internal';
  switch (err.code) {
    case 'INVALID_INPUT':
    case 'UNSUPPORTED_ALGORITHM':
      return 'invalid_argument';
    case 'UNSUPPORTED_FEATURE':
      return 'unimplemented';
    case 'PERMISSION_DENIED':
      return 'permission_denied';
    case 'RESOURCE_EXHAUSTED':
      return 'resource_exhausted';
    case 'TIMEOUT':
      return 'deadline_exceeded';
    case 'SETUP':
      return 'unavailable';
    default:
      return 'internal';
  }
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
