/**
 * `pqpsk negotiate` without the terminal: single hop and multihop, attempts on the
 * published schedule, a switch in one `wg set` per interface, verification, and rollback
 * that leaves every tunnel on the key it had: a switch that cannot be shown to work is
 * undone, never left half-applied.
 *
 * Secrets held here: each interface's current private key (read once, when the run
 * opens) and its parent key, kept in memory only for rollback, and each attempt's
 * ephemeral key and PSK. A PSK is never read back from WireGuard: an interface found with
 * one can only go back to its parent key. All are wiped in `finally` blocks — best effort
 * in JS (the engine may have made copies).
 */
import { ERROR_TABLE } from '../error-table.js';
import { PqpskError, isPqpskError, messageOf, type PqpskErrorCode } from '../errors.js';
import type { Kem } from '../kem/types.js';
import { attemptTimeoutMs, negotiationOrder } from '../protocol/plan.js';
import { REJECT_AFTER_MS } from '../protocol/wireguard.js';
import { ServiceCallError } from '../rpc/status.js';
import { publicKeyFromText, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import type { WgControl } from '../wg/types.js';
import { exchange, type Exchange, type RegisterCall } from './exchange.js';
import { netProbe, tunnelAnswers } from './probe.js';
import type { ClientEvent, HopReport, HopSpec, NegotiationReport } from './types.js';
import { systemClock, verifyTunnel, type Clock, type TunnelProbe } from './verify.js';

/** A temporary change that makes the config-service TCP connection use small segments. */
export interface MssClamp {
  readonly applied: boolean;
  /** What was done or why nothing was (shown with --verbose). */
  readonly message: string;
  undo(): Promise<void>;
}

/** Applies the MSS guard for one config service (src/wg/route.ts on Linux). */
export type MssGuard = (service: string, via: string | null) => Promise<MssClamp>;

/** The interface the kernel would send to `service`'s address out of, or null (src/wg/route.ts). */
export type RouteDevice = (service: string) => Promise<string | null>;

/** What the negotiation needs from outside: WireGuard, KEMs, the network, time. */
export interface NegotiateDeps {
  readonly wg: WgControl;
  readonly kems: readonly Kem[];
  readonly probe?: TunnelProbe;
  readonly call?: RegisterCall;
  readonly clock?: Clock;
  readonly mssGuard?: MssGuard;
  /**
   * Checked before each request: the config service must be reached through the hop's own
   * interface, or the request would leave the tunnel (a split tunnel, or a LAN that uses
   * the same addresses) and the run stops with SETUP.
   */
  readonly routeDevice?: RouteDevice;
  readonly onEvent?: (event: ClientEvent) => void;
  /**
   * Whether anything answers through the tunnel toward `service` (default: probe.ts's
   * TCP connect, where a refusal counts: the relay's kernel sent it back through the tunnel).
   */
  readonly answers?: (service: string, timeoutMs: number) => Promise<boolean>;
  /** Test hook (hidden CLI option): wait this long between switch and verification. */
  readonly holdAfterSwitchMs?: number;
}

/** What to negotiate and how patiently (the CLI's flags, parsed). */
export interface NegotiateOptions {
  /** One `single` hop, or an `entry` and an `exit` hop. */
  readonly hops: readonly HopSpec[];
  /** Give up after this many attempts; null: keep trying until one succeeds. */
  readonly maxAttempts: number | null;
  /** Shrinks the 8/16/32/48 s schedule for tests; 1 in production. */
  readonly timeoutScale: number;
  readonly verifyTimeoutMs: number;
  /** Start no attempt after this long, and cut the last one short to end by then; unset: no bound. */
  readonly maxTotalMs?: number;
  /** Parent private keys per interface (e.g. from the wg-quick file); the negotiation owns and wipes them. */
  readonly parentKeys?: ReadonlyMap<string, Uint8Array>;
}

/**
 * Negotiate PSKs for the hops (exit before entry), switch and verify them all, or leave
 * every interface on its parent key and throw. Errors carry a one-line message.
 */
export async function negotiate(options: NegotiateOptions, deps: NegotiateDeps): Promise<NegotiationReport> {
  checkOptions(options);
  const clock = deps.clock ?? systemClock;
  const emit = deps.onEvent ?? (() => undefined);
  const start = clock.monotonic();
  const deadline = options.maxTotalMs === undefined ? Number.POSITIVE_INFINITY : start + options.maxTotalMs;
  const negotiation = await Negotiation.open(options.hops, deps, {
    verifyTimeoutMs: options.verifyTimeoutMs,
    ...(options.parentKeys === undefined ? {} : { parentKeys: options.parentKeys }),
  });
  const clamps: MssClamp[] = [];
  try {
    if (deps.mssGuard !== undefined) clamps.push(...(await negotiation.applyMssGuard(deps.mssGuard)));
    let lastError: PqpskError | null = null;
    let attempt = 0;
    for (; options.maxAttempts === null || attempt < options.maxAttempts; attempt++) {
      const left = deadline - clock.monotonic();
      if (left <= 0) break;
      const timeoutMs = Math.min(attemptTimeoutMs(attempt, options.timeoutScale), left);
      const attemptStart = clock.monotonic();
      emit({ kind: 'attempt', attempt: attempt + 1, timeoutMs });
      try {
        const hops = await negotiation.attempt(timeoutMs, 'working');
        return { hops, attempts: attempt + 1, totalMs: clock.monotonic() - start };
      } catch (err) {
        if (isPqpskError(err, 'ROLLBACK_FAILED')) {
          emit({ kind: 'attempt-failed', attempt: attempt + 1, code: err.code, message: err.message, nextInMs: null });
          throw err;
        }
        if (!isPqpskError(err) || !ERROR_TABLE[err.code].retry) throw err;
        lastError = err;
      }
      // An attempt owns its whole window: a quick failure (nothing listening) waits it out,
      // so retries follow the schedule instead of spinning.
      const rest = Math.max(0, Math.min(attemptStart + timeoutMs, deadline) - clock.monotonic());
      const another = (options.maxAttempts === null || attempt + 1 < options.maxAttempts) && clock.monotonic() + rest < deadline;
      emit({ kind: 'attempt-failed', attempt: attempt + 1, code: lastError.code, message: lastError.message, nextInMs: another ? Math.round(rest) : null });
      if (rest > 0 && another) await clock.sleep(rest);
    }
    const code: PqpskErrorCode = lastError === null || !ERROR_TABLE[lastError.code].retry ? 'TIMEOUT' : lastError.code;
    const after = options.maxAttempts !== null && attempt >= options.maxAttempts ? `${attempt} attempt${attempt === 1 ? '' : 's'}` : `${attempt} attempt${attempt === 1 ? '' : 's'} in ${Math.round((clock.monotonic() - start) / 1000)} s (--max-time)`;
    const gaveUp = `gave up after ${after}: ${lastError?.message ?? 'no attempt made'}`;
    const settled = await negotiation.settle();
    throw new PqpskError(settled.working ? code : 'TUNNEL_DOWN', `${gaveUp}; ${settled.where}`, { cause: lastError });
  } finally {
    for (const clamp of clamps.reverse()) await clamp.undo().catch(() => undefined);
    negotiation.wipe();
  }
}

/** A key an interface may hold, kept in memory for switching back; owned (and wiped) by its hop. */
interface HeldKey {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly publicKeyText: string;
  /**
   * The PSK that goes with it, null for none, or `unread`: the interface had a PSK when
   * the run opened (an earlier run's) and pqpsk does not read PSKs back, so this key
   * cannot be put back as it was; a failed switch goes to the parent key instead.
   */
  readonly psk: Uint8Array | null | 'unread';
}

/**
 * One hop's state across attempts: the relay peer, the key that last worked on it
 * (`working`, where a failed switch returns) and the parent key the relay always knows
 * (`parent`, null when it is not known: the interface was found on a PSK and no parent
 * private key was given).
 */
export class HopState {
  readonly spec: HopSpec;
  readonly peer: string;
  #working: HeldKey;
  readonly #parent: HeldKey | null;
  /** The interface's public key when the run began. */
  readonly #startKey: string;

  constructor(spec: HopSpec, peer: string, working: HeldKey, parent: HeldKey | null) {
    this.spec = spec;
    this.peer = peer;
    this.#working = working;
    this.#parent = parent;
    this.#startKey = working.publicKeyText;
  }

  /** Whether the interface is on another key than the one it had when the run began. */
  get moved(): boolean {
    return this.#working.publicKeyText !== this.#startKey;
  }

  get working(): HeldKey {
    return this.#working;
  }

  /** The parent key, or the working key when the parent is not known. */
  get parent(): HeldKey {
    return this.#parent ?? this.#working;
  }

  get knowsParent(): boolean {
    return this.#parent !== null;
  }

  /** Whether the interface is on a key other than its parent (an ephemeral key). */
  get onEphemeral(): boolean {
    return this.#parent === null ? this.#working.psk !== null : this.#working !== this.#parent;
  }

  /** Make `key` the working key; the old one is wiped unless it is the parent. */
  adopt(key: HeldKey): void {
    if (key === this.#working) return;
    if (this.#working !== this.#parent) wipeKey(this.#working);
    this.#working = key;
  }

  wipe(): void {
    wipeKey(this.#working);
    if (this.#parent !== null && this.#parent !== this.#working) wipeKey(this.#parent);
  }

  toJSON(): string {
    return '<secret>';
  }
}

function wipeKey(key: HeldKey): void {
  key.privateKey.fill(0);
  if (key.psk instanceof Uint8Array) key.psk.fill(0);
}

/** The key a failed switch returns `hop` to: its working key, or its parent when the working PSK was never read. */
function rollbackKey(hop: HopState, target: Claim): HeldKey {
  return target === 'parent' || hop.working.psk === 'unread' ? hop.parent : hop.working;
}

/** Which key a request names as its parent: the working key (from the live ephemeral) or the parent key. */
export type Claim = 'working' | 'parent';

/** Settings of a negotiation that do not change between attempts. */
export interface NegotiationSettings {
  readonly verifyTimeoutMs: number;
  /**
   * Per interface, the parent private key (e.g. read from the wg-quick file), so a
   * watcher started while the interface is on an ephemeral key can still go back.
   * The negotiation takes ownership and wipes it.
   */
  readonly parentKeys?: ReadonlyMap<string, Uint8Array>;
}

/**
 * A negotiation over one or two hops that owns their state: each hop's working and parent
 * key, the dependencies, the settings. `attempt` switches every hop make-before-break and
 * rolls back to the working keys on failure; `fallBackToParent` goes to the parent keys.
 */
export class Negotiation {
  /** Hops in negotiation order (exit before entry). */
  readonly hops: readonly HopState[];
  readonly #deps: NegotiateDeps;
  readonly #settings: NegotiationSettings;
  readonly #clock: Clock;
  readonly #emit: (event: ClientEvent) => void;

  private constructor(hops: readonly HopState[], deps: NegotiateDeps, settings: NegotiationSettings) {
    this.hops = hops;
    this.#deps = deps;
    this.#settings = settings;
    this.#clock = deps.clock ?? systemClock;
    this.#emit = deps.onEvent ?? (() => undefined);
  }

  /** Read every hop's interface: its relay peer, its current key (and PSK), its parent. */
  static async open(hops: readonly HopSpec[], deps: NegotiateDeps, settings: NegotiationSettings): Promise<Negotiation> {
    checkHops(hops);
    const states: HopState[] = [];
    try {
      for (const hop of negotiationOrder(hops)) states.push(await readHop(hop, deps, settings.parentKeys?.get(hop.iface) ?? null));
    } catch (err) {
      for (const s of states) s.wipe();
      throw err;
    } finally {
      for (const key of settings.parentKeys?.values() ?? []) if (!states.some((s) => s.knowsParent && s.parent.privateKey === key)) key.fill(0);
    }
    return new Negotiation(states, deps, settings);
  }

  /**
   * After a run gave up: leave every hop on a key that carries traffic, outer hop first. A
   * hop whose key still gets an answer through its tunnel stays on it (a relay that is
   * down or refusing leaves a working ephemeral key alone); one that gets none — the relay
   * forgot its ephemeral key (a relay restart, a server-side `wg-quick down/up`) — goes
   * back to its parent key, which must then get one. Says where each hop was left, and
   * whether every one works.
   */
  async settle(): Promise<{ working: boolean; where: string }> {
    const answers = this.#deps.answers ?? tunnelAnswers;
    const probe = this.#deps.probe ?? netProbe;
    const timeoutMs = this.#settings.verifyTimeoutMs;
    const handshake = async (hop: HopState): Promise<number> => (await this.#deps.wg.latestHandshakes(hop.spec.iface)).get(hop.peer) ?? 0;
    // Evidence that the relay's WireGuard takes the hop's current key: the config service
    // answering through the tunnel, or a handshake made while we looked. The second needs
    // no config service, so a wrong --config-service (nothing on 10.64.0.1 when the relay
    // is on 10.8.0.1) is not taken for a dead tunnel. On a parent key the run never moved
    // from, a WireGuard session younger than reject-after-time counts too: a parent key is
    // configured on the relay, not registered, so nothing this run did can have made the
    // relay forget it, and a fresh session shows it took it.
    const works = (hop: HopState): Promise<boolean> =>
      this.#throughHop(hop, async () => {
        const before = await handshake(hop);
        await probe.poke(hop.spec.service).catch(() => undefined);
        if (await answers(hop.spec.service, timeoutMs).catch(() => false)) return true;
        const after = await handshake(hop);
        if (after > before) return true;
        return hop.working === hop.parent && !hop.moved && after > 0 && this.#clock.now() - after * 1000 < REJECT_AFTER_MS;
      });
    const said: string[] = [];
    let working = true;
    for (const i of verifyOrder(this.hops)) {
      const hop = this.hops[i]!;
      const onParent = (): boolean => hop.working === hop.parent;
      const key = (): string => (onParent() ? 'parent' : 'ephemeral');
      const where = (): string => `${hop.spec.iface} ${hop.moved && onParent() ? 'back' : 'left'} on its ${key()} key`;
      if (await works(hop)) {
        said.push(`${where()}, which works`);
        continue;
      }
      if (onParent()) {
        said.push(`${where()}, but nothing answers through the tunnel: is the relay's WireGuard up and reachable?`);
        working = false;
        continue;
      }
      try {
        await this.#setKey(hop, hop.parent.privateKey, hop.parent.psk, undefined);
        hop.adopt(hop.parent);
      } catch (err) {
        said.push(`${where()}, which gets no answer, and could not go back to its parent key: ${messageOf(err)}`);
        working = false;
        continue;
      }
      const back = await works(hop);
      this.#emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: back });
      if (back) {
        said.push(`${where()}, which works (its ephemeral key got no answer)`);
      } else {
        said.push(`${where()}, but nothing answers through the tunnel on either key: is the relay's WireGuard up and reachable?`);
        working = false;
      }
    }
    return { working, where: said.join('; ') };
  }

  /** Whether every hop is on an ephemeral key. */
  get onEphemeral(): boolean {
    return this.hops.every((h) => h.onEphemeral);
  }

  /**
   * The MSS guard for a single hop's config service, along the kernel's path, for the whole
   * run; the caller undoes it. Hops of a multihop take turns instead (#throughHop).
   */
  async applyMssGuard(guard: MssGuard): Promise<MssClamp[]> {
    if (this.hops.length !== 1) return [];
    const hop = this.hops[0]!;
    const clamp = await guard(hop.spec.service, null);
    this.#emit({ kind: 'mss-clamp', service: hop.spec.service, applied: clamp.applied, message: clamp.message });
    return [clamp];
  }

  /**
   * One attempt over all hops: exchange (naming `claim` as the parent), switch, verify.
   * On any failure after a switch every touched hop returns to its working key.
   * `signal` (stopping) abandons the attempt before any switch; after one, the switch is
   * verified or rolled back first. `gone` (the interfaces were deleted) abandons it
   * wherever it is and touches nothing more: there is nothing left to put back, and a
   * new interface of the same name belongs to whoever made it.
   */
  async attempt(timeoutMs: number, claim: Claim, signal?: AbortSignal, gone?: AbortSignal): Promise<HopReport[]> {
    const clock = this.#clock;
    const deps = this.#deps;
    const exchanges: Exchange[] = [];
    const touched: HopState[] = [];
    const spans: { exchangeMs: number; switchMs: number; verifyMs: number }[] = [];
    let adopted = false;
    try {
      // Exit first: its request travels through both tunnels while both still carry their working keys.
      for (const hop of this.hops) {
        const begun = clock.monotonic();
        const claimed = claim === 'parent' ? hop.parent : hop.working;
        const deps2 = { kems: deps.kems, now: () => clock.now(), ...(deps.call === undefined ? {} : { call: deps.call }) };
        const ex = await this.#throughHop(hop, async () => {
          await this.#checkRoute(hop);
          const stopOrGone = signal === undefined || gone === undefined ? (signal ?? gone) : AbortSignal.any([signal, gone]);
          return untilAborted(exchange(claimed.publicKey, hop.spec.service, timeoutMs, deps2), stopOrGone, (ex) => ex.wipe(), () => (gone?.aborted === true ? goneAway() : stopped())).catch((err: unknown) => {
            throw withAdvice(err, hop.spec);
          });
        });
        exchanges.push(ex);
        spans.push({ exchangeMs: clock.monotonic() - begun, switchMs: 0, verifyMs: 0 });
        this.#emit({ kind: 'exchanged', role: hop.spec.role, iface: hop.spec.iface, ephemeralPublicKey: ex.publicKey, pskFingerprint: ex.psk.fingerprint() });
      }

      if (gone?.aborted === true) throw goneAway();
      if (signal?.aborted === true) throw stopped();
      const changes: Change[] = [];
      for (const [i, hop] of this.hops.entries()) {
        const ex = exchanges[i]!;
        touched.push(hop);
        const t0 = clock.monotonic();
        changes.push(await this.#setKey(hop, ex.privateKey(), ex.psk.bytes(), gone));
        spans[i]!.switchMs = clock.monotonic() - t0;
        this.#emit({ kind: 'switched', role: hop.spec.role, iface: hop.spec.iface });
      }
      if (deps.holdAfterSwitchMs !== undefined && deps.holdAfterSwitchMs > 0) await clock.sleep(deps.holdAfterSwitchMs);

      // Verify the outer tunnel before the inner one that runs through it.
      for (const i of verifyOrder(this.hops)) {
        const hop = this.hops[i]!;
        const t0 = clock.monotonic();
        await this.#verify(changes[i]!, gone);
        spans[i]!.verifyMs = clock.monotonic() - t0;
        this.#emit({ kind: 'verified', role: hop.spec.role, iface: hop.spec.iface });
      }

      const reports = this.hops.map((hop, i): HopReport => {
        const ex = exchanges[i]!;
        const span = spans[i]!;
        return {
          role: hop.spec.role,
          interface: hop.spec.iface,
          peer: hop.peer,
          service: hop.spec.service,
          parentPublicKey: (claim === 'parent' ? hop.parent : hop.working).publicKeyText,
          ephemeralPublicKey: ex.publicKey,
          pskFingerprint: ex.psk.fingerprint(),
          algorithms: ex.algorithms,
          timings: {
            keygenMs: ex.keygenMs,
            rpcMs: ex.rpcMs,
            decapsMs: ex.decapsMs,
            switchMs: span.switchMs,
            verifyMs: span.verifyMs,
            totalMs: span.exchangeMs + span.switchMs + span.verifyMs,
          },
        };
      });
      // The new keys become the working ones; copies, because the exchanges are wiped below.
      for (const [i, hop] of this.hops.entries()) {
        const ex = exchanges[i]!;
        hop.adopt({ privateKey: ex.privateKey().slice(), publicKey: publicKeyFromText('ephemeral key', ex.publicKey), publicKeyText: ex.publicKey, psk: ex.psk.bytes().slice() });
      }
      adopted = true;
      return reports;
    } catch (err) {
      if (touched.length > 0 && !adopted && gone?.aborted !== true) await this.#restore(touched, 'working', err);
      throw err;
    } finally {
      for (const ex of exchanges) ex.wipe();
    }
  }

  /**
   * Put every hop on its parent key (no PSK) and show each tunnel works, outer first: the
   * way back when the relay no longer knows the working ephemeral key. The parent becomes
   * the working key only for hops that work on it. Throws ROLLBACK_FAILED otherwise.
   */
  async fallBackToParent(cause: unknown, gone?: AbortSignal): Promise<void> {
    await this.#restore(this.hops, 'parent', cause, gone);
  }

  wipe(): void {
    for (const hop of this.hops) hop.wipe();
  }

  toJSON(): string {
    return '<secret>';
  }

  async #setKey(hop: HopState, privateKey: Uint8Array, psk: Uint8Array | null | 'unread', gone: AbortSignal | undefined): Promise<Change> {
    if (psk === 'unread') throw new PqpskError('INTERNAL', `${hop.spec.iface}: no PSK to restore`);
    const baseline = (await this.#deps.wg.latestHandshakes(hop.spec.iface)).get(hop.peer) ?? 0;
    await leaveSecond(baseline, this.#clock);
    // Checked last thing before the write: a new interface of the same name is not ours.
    if (gone?.aborted === true) throw goneAway();
    const at = this.#clock.now();
    await this.#deps.wg.set(hop.spec.iface, { privateKey, peers: [{ publicKey: hop.peer, presharedKey: psk }] });
    return { hop, baseline, at };
  }

  async #verify(change: Change, gone: AbortSignal | undefined): Promise<void> {
    const { hop, baseline, at } = change;
    await this.#throughHop(hop, () =>
      untilAborted(
        verifyTunnel(
          { iface: hop.spec.iface, peer: hop.peer, service: hop.spec.service, baselineHandshake: baseline, changedAtMs: at },
          { wg: this.#deps.wg, probe: this.#deps.probe ?? netProbe, clock: this.#clock, timeoutMs: this.#settings.verifyTimeoutMs },
        ),
        gone,
        () => undefined,
        goneAway,
      ),
    );
  }

  /**
   * Run `step` with `hop`'s config service routed through `hop`'s own interface when there
   * are several hops (their services may share one address: Mullvad's relays all answer on
   * 10.64.0.1), and the route put back after. One hop keeps the route set for the run.
   */
  async #throughHop<T>(hop: HopState, step: () => Promise<T>): Promise<T> {
    const guard = this.#deps.mssGuard;
    if (this.hops.length < 2 || guard === undefined) return step();
    const route = await guard(hop.spec.service, hop.spec.iface);
    this.#emit({ kind: 'mss-clamp', service: hop.spec.service, applied: route.applied, message: route.message });
    try {
      return await step();
    } finally {
      await route.undo().catch(() => undefined);
    }
  }

  /** Refuse to send a request that would not go into the hop's tunnel. */
  async #checkRoute(hop: HopState): Promise<void> {
    const routeDevice = this.#deps.routeDevice;
    if (routeDevice === undefined) return;
    const dev = await routeDevice(hop.spec.service);
    if (dev !== hop.spec.iface) {
      throw new PqpskError(
        'OUTSIDE_TUNNEL',
        `config service ${hop.spec.service} is routed ${dev === null ? 'nowhere' : `through ${dev}`}, not through ${hop.spec.iface}: refusing to send the request outside the tunnel`,
      );
    }
  }

  /**
   * Put `hops` on their `target` key (and its PSK, or none), then show each tunnel works
   * again, outer first. Throws ROLLBACK_FAILED when one does not.
   */
  async #restore(hops: readonly HopState[], target: Claim, cause: unknown, gone?: AbortSignal): Promise<void> {
    const changes: Change[] = [];
    const failures: string[] = [];
    const keys = new Map<HopState, HeldKey>();
    const which = (hop: HopState): string => (keys.get(hop) === hop.working ? 'previous' : 'parent');
    for (const hop of hops) {
      const key = rollbackKey(hop, target);
      keys.set(hop, key);
      try {
        changes.push(await this.#setKey(hop, key.privateKey, key.psk, gone));
      } catch (err) {
        if (gone?.aborted === true) throw err;
        const message = `${hop.spec.iface}: could not restore the ${which(hop)} key: ${messageOf(err)}`;
        failures.push(message);
        this.#emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: false, message });
      }
    }
    for (const i of verifyOrder(changes.map((c) => c.hop))) {
      const change = changes[i]!;
      const hop = change.hop;
      const label = which(hop);
      hop.adopt(keys.get(hop)!);
      try {
        await this.#verify(change, gone);
        this.#emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: true });
      } catch (err) {
        if (gone?.aborted === true) throw err;
        const message = `${hop.spec.iface}: back on the ${label} key but the tunnel does not work: ${messageOf(err)}`;
        failures.push(message);
        this.#emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: false, message });
      }
    }
    if (failures.length > 0) {
      throw new PqpskError('ROLLBACK_FAILED', `${messageOf(cause)}; rollback: ${failures.join('; ')}`, { cause });
    }
  }
}

/** `err`, with the hop's advice added when nothing at all answered at its config service. */
function withAdvice(err: unknown, spec: HopSpec): unknown {
  if (!(err instanceof ServiceCallError) || err.outcome !== 'no-answer' || spec.noAnswerAdvice === undefined) return err;
  return new ServiceCallError(err.code, err.service, err.outcome, `${err.message} — ${spec.noAnswerAdvice}`, { cause: err });
}

/** Thrown when an attempt is abandoned before any switch because its caller is stopping. */
function stopped(): PqpskError {
  return new PqpskError('TIMEOUT', 'stopped before switching');
}

/** Thrown when the interfaces an attempt works on were deleted under it (`wg-quick down`). */
function goneAway(): PqpskError {
  return new PqpskError('NOT_FOUND', 'the interface was deleted during the attempt');
}

/**
 * `promise`, or the error `reason()` makes as soon as `signal` aborts. The abandoned work
 * runs on to its own end; `late` gets what it yields then (an exchange wipes its secrets).
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, late: (value: T) => void, reason: () => PqpskError): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.then(late, () => undefined);
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.then(late, () => undefined);
      reject(reason());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** A key change made on one hop: what verification compares against. */
interface Change {
  readonly hop: HopState;
  readonly baseline: number;
  readonly at: number;
}

/** Indices in verification order: entry (outer) first, then exit, as given otherwise. */
function verifyOrder(hops: readonly HopState[]): number[] {
  const rank = { entry: 0, single: 1, exit: 2 } as const;
  return hops.map((_, i) => i).sort((a, b) => rank[hops[a]!.spec.role] - rank[hops[b]!.spec.role]);
}

/**
 * Latest-handshake times have one-second resolution: when the last handshake fell in the
 * current second, a new one in the same second could not be told apart, so the key
 * change waits for the next second.
 */
async function leaveSecond(baseline: number, clock: Clock): Promise<void> {
  const now = clock.now();
  if (baseline === Math.floor(now / 1000)) await clock.sleep(1000 - (now % 1000) + 1);
}

async function readHop(hop: HopSpec, deps: NegotiateDeps, parentPrivateKey: Uint8Array | null): Promise<HopState> {
  const state = await deps.wg.summary(hop.iface);
  let peer: string;
  if (hop.peer !== null) {
    if (!state.peers.some((p) => p.publicKey === hop.peer)) {
      throw new PqpskError('NOT_FOUND', `${hop.iface}: no peer with the public key given by --peer`);
    }
    if (state.peers.length > 1 && hop.allowOtherPeers !== true) {
      throw new PqpskError(
        'INVALID_INPUT',
        `${hop.iface} has ${state.peers.length} peers: switching the interface key breaks every other peer's tunnel; pass --allow-other-peers if that is what you want`,
      );
    }
    peer = hop.peer;
  } else if (state.peers.length === 1) {
    peer = state.peers[0]!.publicKey;
  } else {
    throw new PqpskError('INVALID_INPUT', `${hop.iface} has ${state.peers.length} peers; name the relay with --peer`);
  }
  if (state.publicKey === '') {
    throw new PqpskError('NOT_FOUND', `WireGuard interface ${hop.iface} has no private key`);
  }
  const hasPsk = state.peers.find((p) => p.publicKey === peer)?.hasPresharedKey === true;
  if (hasPsk && parentPrivateKey === null) {
    throw new PqpskError(
      'SETUP',
      `${hop.iface} already has a PSK for its relay (from an earlier run?) and its parent key is not known: pqpsk does not read PSKs back, so a failed switch could not be undone; give the wg-quick file with --config-file, or bring the tunnel down and up again`,
    );
  }
  const publicKey = publicKeyFromText(`${hop.iface} public key`, state.publicKey);
  const privateKey = await deps.wg.readPrivateKey(hop.iface);
  const working: HeldKey = { privateKey, publicKey, publicKeyText: state.publicKey, psk: hasPsk ? 'unread' : null };
  if (parentPrivateKey === null) return new HopState(hop, peer, working, working);
  const parentPublic = publicKeyOf(parentPrivateKey);
  const parentText = publicKeyToText(parentPublic);
  if (parentText === state.publicKey && !hasPsk) {
    parentPrivateKey.fill(0);
    return new HopState(hop, peer, working, working);
  }
  return new HopState(hop, peer, working, { privateKey: parentPrivateKey, publicKey: parentPublic, publicKeyText: parentText, psk: null });
}

function checkHops(hops: readonly HopSpec[]): void {
  const roles = hops.map((h) => h.role).sort().join(',');
  if (roles !== 'single' && roles !== 'entry,exit') {
    throw new PqpskError('INVALID_INPUT', 'hops: expected one single hop, or an entry and an exit');
  }
  if (hops.length === 2 && hops[0]!.iface === hops[1]!.iface) {
    throw new PqpskError('INVALID_INPUT', '--entry and --exit: expected two different interfaces');
  }
}

function checkOptions(options: NegotiateOptions): void {
  checkHops(options.hops);
  if (options.maxTotalMs !== undefined && !(Number.isFinite(options.maxTotalMs) && options.maxTotalMs > 0)) {
    throw new PqpskError('INVALID_INPUT', '--max-time: expected a positive duration');
  }
  if (options.maxAttempts !== null && !(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) {
    throw new PqpskError('INVALID_INPUT', `--max-attempts: expected a whole number ≥ 1, got ${options.maxAttempts}`);
  }
  if (!(Number.isFinite(options.verifyTimeoutMs) && options.verifyTimeoutMs > 0)) {
    throw new PqpskError('INVALID_INPUT', '--verify-timeout: expected a positive duration');
  }
  attemptTimeoutMs(0, options.timeoutScale);
}
