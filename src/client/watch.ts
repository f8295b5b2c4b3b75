/**
 * `negotiate --watch` without the terminal: the first switch, then rotation, healing and
 * backoff for as long as it runs. The decisions are watch-policy.ts's; this module only
 * carries them out (through a Negotiation, which owns the keys) and feeds back what
 * happened. Time, the network and WireGuard are injected, so tests run it on a virtual
 * clock.
 *
 * Secrets held here: none directly; the Negotiation holds each hop's working and parent
 * key in memory and wipes them on `close()` (best effort in JS).
 */
import { ERROR_TABLE } from '../error-table.js';
import { PqpskError, isPqpskError } from '../errors.js';
import { attemptTimeoutMs } from '../protocol/plan.js';
import { Negotiation } from './negotiation.js';
import type { NegotiateDeps } from './negotiation-deps.js';
import { tunnelAnswers } from './probe.js';
import type { HopReport, HopSpec } from './types.js';
import { systemClock } from './verify.js';
import {
  advance,
  initialState,
  isProtectedPhase,
  nextAction,
  type TrafficSample,
  type TunnelPhase,
  type WatchAction,
  type WatchInput,
  type WatchPolicyConfig,
  type WatchState,
} from './watch-policy.js';

/** What the watcher needs besides what a negotiation needs. */
export interface WatchDeps extends NegotiateDeps {
  /** The relay peer's transfer counters on `iface` (src/wg/transfer.ts), or null. */
  readonly traffic: (iface: string, peer: string) => Promise<TrafficSample | null>;
  /** Whether anything answers through the tunnel toward `service` (default: probe.ts). */
  readonly answers?: (service: string, timeoutMs: number) => Promise<boolean>;
  /**
   * The kernel's index of the interface (src/wg/transfer.ts): null once it is deleted, 0
   * when it cannot be told. The watcher stops within a second of an interface being
   * deleted or replaced by a new one of the same name, even in the middle of an attempt.
   */
  readonly interfaceIndex?: (iface: string) => number | null;
  /**
   * Runs `check` again and again while the watcher runs, and returns how to end that;
   * default: every 250 ms of real time, whatever clock drives the rest.
   */
  readonly repeat?: (check: () => void) => () => void;
  /** Uniform in [0, 1), for the rotation jitter. */
  readonly random?: () => number;
  /** One line per thing worth saying (the CLI prints it). */
  readonly log?: (line: string) => void;
}

/** The watcher's settings (the CLI's flags, parsed). */
export interface WatchOptions {
  readonly hops: readonly HopSpec[];
  readonly policy: WatchPolicyConfig;
  readonly timeoutScale: number;
  readonly verifyTimeoutMs: number;
  /** How often to look at the tunnel's traffic. */
  readonly tickMs: number;
  /** How long a probe waits for an answer through the tunnel. */
  readonly probeTimeoutMs: number;
  /** Parent private keys per interface (e.g. from the wg-quick file); the watcher owns and wipes them. */
  readonly parentKeys?: ReadonlyMap<string, Uint8Array>;
  /** Each interface's index when the run began (default: read when the watcher opens). */
  readonly interfaceIndexes?: ReadonlyMap<string, number>;
}

/**
 * How often the watcher looks whether its interfaces still exist: sysfs reads, no
 * process; well within the second a new `wg-quick up` may wait for this watcher to let
 * go of the interface's lock.
 */
const GONE_POLL_MS = 250;

function everyPoll(check: () => void): () => void {
  const timer = setInterval(check, GONE_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** What `pqpsk status` shows of a running watcher (public facts only). */
export interface WatchStatus {
  readonly phase: TunnelPhase;
  readonly protected: boolean;
  readonly onEphemeral: boolean;
  readonly negotiatedAt: number | null;
  readonly nextRotationAt: number | null;
  readonly rotations: number;
  readonly recoveries: number;
  readonly lastError: string | null;
  readonly hops: readonly { readonly role: string; readonly interface: string; readonly service?: string; readonly publicKey: string; readonly parentPublicKey: string; readonly pskFingerprint: string | null }[];
}

/** One tunnel (or multihop pair) kept post-quantum. Create with `TunnelWatcher.open`, then `run()`. */
export class TunnelWatcher {
  readonly #negotiation: Negotiation;
  readonly #options: WatchOptions;
  readonly #deps: WatchDeps;
  readonly #stop = new AbortController();
  /** Aborted once an interface is deleted: whatever is under way is abandoned, nothing more is touched. */
  readonly #gone = new AbortController();
  readonly #indexes: ReadonlyMap<string, number>;
  #state: WatchState;
  #wake: (() => void) | null = null;
  #rotateAsked = false;
  /** The PSK fingerprint of each hop's working key, when it came from a negotiation. */
  #fingerprints = new Map<string, string>();
  #firstSettled: ((ok: boolean, message: string) => void) | null = null;
  /** Why the tunnel is suspect, logged once a probe settles it; `quiet`: only traffic out, none back. */
  #suspicion: { why: string; quiet: boolean } | null = null;

  private constructor(negotiation: Negotiation, options: WatchOptions, deps: WatchDeps, indexes: ReadonlyMap<string, number>) {
    this.#negotiation = negotiation;
    this.#options = options;
    this.#deps = deps;
    this.#indexes = indexes;
    this.#state = initialState(this.#now(), negotiation.onEphemeral);
  }

  /** Read the interfaces (errors as for a one-shot negotiation: exit 2 material). */
  static async open(options: WatchOptions, deps: WatchDeps): Promise<TunnelWatcher> {
    const indexes = options.interfaceIndexes ?? new Map(options.hops.map((h) => [h.iface, deps.interfaceIndex?.(h.iface) ?? 0]));
    const negotiation = await Negotiation.open(options.hops, deps, {
      verifyTimeoutMs: options.verifyTimeoutMs,
      ...(options.parentKeys === undefined ? {} : { parentKeys: options.parentKeys }),
    });
    return new TunnelWatcher(negotiation, options, deps, indexes);
  }

  /** The state the policy holds now. */
  get state(): WatchState {
    return this.#state;
  }

  /** Resolves after the first negotiation settles (switched, or failed and back on a working key). */
  firstSettled(): Promise<{ ok: boolean; message: string }> {
    return new Promise((resolve) => {
      this.#firstSettled = (ok, message) => resolve({ ok, message });
    });
  }

  /** Ask for a rotation now (SIGHUP). */
  rotateNow(): void {
    this.#rotateAsked = true;
    this.#wake?.();
  }

  /** Stop after the step under way settles; a switch in progress is verified or rolled back first. */
  stop(): void {
    this.#stop.abort();
    this.#wake?.();
  }

  /** Whether the watcher is on its way out (stopping, or its interface is gone). */
  get stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  status(): WatchStatus {
    const s = this.#state;
    return {
      phase: s.phase,
      protected: isProtectedPhase(s.phase),
      onEphemeral: s.onEphemeral,
      negotiatedAt: s.negotiatedAt,
      nextRotationAt: s.phase === 'protected' && Number.isFinite(s.dueAt) ? s.dueAt : null,
      rotations: s.rotations,
      recoveries: s.recoveries,
      lastError: s.lastError,
      hops: this.#negotiation.hops.map((h) => ({
        role: h.spec.role,
        interface: h.spec.iface,
        service: h.spec.service,
        publicKey: h.working.publicKeyText,
        parentPublicKey: h.parent.publicKeyText,
        pskFingerprint: h.onEphemeral ? (this.#fingerprints.get(h.spec.iface) ?? null) : null,
      })),
    };
  }

  /** Run until `stop()`. Throws only for local errors (bad interface, no `wg`). */
  async run(): Promise<void> {
    const endPoll = this.#deps.interfaceIndex === undefined ? () => undefined : (this.#deps.repeat ?? everyPoll)(() => void this.#checkGone());
    try {
      while (!this.#stop.signal.aborted) {
        const action = nextAction(this.#state, this.#now());
        await this.#carryOut(action);
      }
    } catch (err) {
      // Whatever an abandoned step threw once the interface was deleted is moot.
      if (!this.#gone.signal.aborted) {
        // A run that fails never settles its first attempt: whoever waits on it (the
        // --background parent) must hear the failure, not a "stopped" that outran it.
        this.#firstSettled = null;
        throw err;
      }
    } finally {
      endPoll();
      this.#settleFirst(false, 'stopped');
    }
  }

  /** Wipe the keys held in memory. */
  close(): void {
    this.#negotiation.wipe();
  }

  async #carryOut(action: WatchAction): Promise<void> {
    switch (action.kind) {
      case 'wait': {
        await this.#pause(Math.min(action.untilMs - this.#now(), this.#options.tickMs));
        if (this.#stop.signal.aborted || this.#checkGone()) return;
        if (this.#rotateAsked) {
          this.#rotateAsked = false;
          this.#feed({ kind: 'rotate-now', now: this.#now() });
          this.#log('rotation asked for (SIGHUP)');
        }
        const traffic = this.#state.phase === 'protected' ? await this.#sample() : null;
        this.#feed({ kind: 'tick', now: this.#now(), traffic });
        return;
      }
      case 'negotiate':
        return this.#negotiate(action.route === 'parent-claim' ? 'parent' : 'working', action.attempt);
      case 'probe': {
        const answers = this.#deps.answers ?? tunnelAnswers;
        let alive = true;
        for (const hop of [...this.#negotiation.hops].reverse()) {
          if (!(await this.#unlessGone(answers(hop.spec.service, this.#options.probeTimeoutMs)).catch(() => false))) alive = false;
          if (!alive) break;
        }
        if (this.#gone.signal.aborted) return;
        this.#feed({ kind: 'probed', now: this.#now(), alive });
        return;
      }
      case 'fall-back': {
        this.#log(`going back to the parent key: ${this.#state.rotating || this.#state.phase === 'protected' ? 'rotating through it (the relay refuses a rotation from the ephemeral key)' : (this.#state.lastError ?? 'the tunnel is dead')}`);
        try {
          await this.#negotiation.fallBackToParent(null, this.#gone.signal);
          this.#feed({ kind: 'fell-back', now: this.#now(), working: true });
          this.#log('on the parent key, tunnel works; negotiating a new PSK');
        } catch (err) {
          if (!isPqpskError(err, 'ROLLBACK_FAILED')) throw err;
          this.#feed({ kind: 'fell-back', now: this.#now(), working: false, message: err.message });
          this.#log(`the parent key does not work either (${err.message}); retrying in ${Math.round((this.#state.dueAt - this.#now()) / 1000)} s`);
        }
        return;
      }
    }
  }

  async #negotiate(claim: 'working' | 'parent', attempt: number): Promise<void> {
    const timeoutMs = attemptTimeoutMs(Math.min(attempt, 3), this.#options.timeoutScale);
    const wasPhase = this.#state.phase;
    const { rotations, recoveries } = this.#state;
    try {
      const reports = await this.#negotiation.attempt(timeoutMs, claim, this.#stop.signal, this.#gone.signal);
      for (const r of reports) this.#fingerprints.set(r.interface, r.pskFingerprint);
      this.#feed({ kind: 'negotiated', now: this.#now() });
      const what = this.#state.rotations > rotations ? 'rotated' : 'switched';
      this.#log(`${what}: ${reports.map(reportText).join('; ')}${this.#state.recoveries > recoveries ? ' (recovered)' : ''}`);
      this.#settleFirst(true, reports.map(reportText).join('; '));
    } catch (err) {
      if (this.#stop.signal.aborted && !isPqpskError(err, 'ROLLBACK_FAILED')) return;
      if (!isPqpskError(err) || !ERROR_TABLE[err.code].retry) throw err;
      const working = err.code !== 'ROLLBACK_FAILED';
      // Begun on a PSK an earlier run set (never read back), a failed switch went to the parent key.
      if (working && this.#state.onEphemeral && !this.#negotiation.onEphemeral) this.#feed({ kind: 'fell-back', now: this.#now(), working: true });
      this.#feed({ kind: 'negotiate-failed', now: this.#now(), code: err.code, message: err.message, working });
      const s = this.#state;
      const next = s.phase === 'dead' ? 'going back to the parent key' : Number.isFinite(s.dueAt) && s.dueAt > this.#now() ? `next try in ${Math.round((s.dueAt - this.#now()) / 1000)} s` : 'trying again';
      this.#log(`negotiation failed (${err.message}); ${s.onEphemeral ? 'still on the previous ephemeral key' : 'on the parent key'}; ${next}`);
      if (wasPhase === 'starting' && !s.onEphemeral) this.#settleFirst(false, err.message);
    }
  }

  async #sample(): Promise<TrafficSample[] | null> {
    const samples: TrafficSample[] = [];
    for (const hop of this.#negotiation.hops) {
      let sample: TrafficSample | null;
      try {
        sample = await this.#deps.traffic(hop.spec.iface, hop.peer);
      } catch (err) {
        // The interface went away (wg-quick down): nothing is left to watch.
        if (isPqpskError(err, 'NOT_FOUND')) this.#goneAway(hop.spec.iface, 'is gone');
        return null;
      }
      if (sample === null) return null;
      samples.push(sample);
    }
    return samples;
  }

  /** Stop at once if an interface was deleted or replaced; true when it was. */
  #checkGone(): boolean {
    if (this.#gone.signal.aborted) return true;
    const read = this.#deps.interfaceIndex;
    if (read === undefined) return false;
    for (const hop of this.#negotiation.hops) {
      const iface = hop.spec.iface;
      const now = read(iface);
      const was = this.#indexes.get(iface) ?? 0;
      if (now === null) this.#goneAway(iface, 'is gone');
      else if (was > 0 && now > 0 && now !== was) this.#goneAway(iface, 'was replaced by a new interface of that name');
      if (this.#gone.signal.aborted) return true;
    }
    return false;
  }

  #goneAway(iface: string, how: string): void {
    if (this.#gone.signal.aborted) return;
    this.#log(`${iface} ${how}; stopping`);
    this.#gone.abort();
    this.stop();
  }

  /** `promise`, or a rejection as soon as an interface is gone. */
  #unlessGone<T>(promise: Promise<T>): Promise<T> {
    const gone = this.#gone.signal;
    const error = (): PqpskError => new PqpskError('NOT_FOUND', 'the interface was deleted');
    if (gone.aborted) return Promise.reject(error());
    return new Promise<T>((resolve, reject) => {
      const onGone = (): void => reject(error());
      gone.addEventListener('abort', onGone, { once: true });
      promise.then(resolve, reject).finally(() => gone.removeEventListener('abort', onGone));
    });
  }

  /**
   * Feed the policy and log what changed. A suspicion is not news until a probe settles
   * it: it is logged with its outcome, and not at all when a quiet tunnel (traffic out,
   * none back: an idle tunnel's keepalives) turns out to be healthy.
   */
  #feed(input: WatchInput): void {
    const prior = this.#state;
    const before = prior.phase;
    this.#state = advance(prior, input, this.#options.policy, this.#deps.random ?? Math.random);
    const after = this.#state.phase;
    // A rotation that must go through the parent key passes through `dead` without the tunnel being dead.
    const routeOnly = after === 'dead' && this.#state.rotating;
    if (before === after || routeOnly) return;
    const error = this.#state.lastError === null ? '' : `: ${this.#state.lastError}`;
    if (after === 'suspect') {
      this.#suspicion = suspicionOf(prior, input, this.#options.policy);
      return;
    }
    if (before === 'suspect') {
      const { why, quiet } = this.#suspicion ?? { why: 'unknown', quiet: false };
      this.#suspicion = null;
      if (after === 'protected' && quiet) return;
      const outcome = after === 'protected' ? 'a probe was answered: still protected' : after === 'dead' ? `a probe went unanswered: tunnel dead${error}` : `then tunnel ${after}${error}`;
      this.#log(`tunnel suspect (${why}), ${outcome}`);
      return;
    }
    if (after === 'dead' || after === 'outage') this.#log(`tunnel ${after}${error}`);
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0 || this.#stop.signal.aborted || this.#rotateAsked) return Promise.resolve();
    const clock = this.#deps.clock ?? systemClock;
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      void clock.sleep(ms).then(resolve);
    }).finally(() => {
      this.#wake = null;
    });
  }

  #now(): number {
    return (this.#deps.clock ?? systemClock).now();
  }

  #log(line: string): void {
    this.#deps.log?.(line);
  }

  #settleFirst(ok: boolean, message: string): void {
    const settle = this.#firstSettled;
    this.#firstSettled = null;
    settle?.(ok, message);
  }
}

/** Why `input` made a tunnel in state `prior` suspect, in the log's words. */
function suspicionOf(prior: WatchState, input: WatchInput, policy: WatchPolicyConfig): { why: string; quiet: boolean } {
  if (input.kind === 'negotiate-failed') return { why: `an exchange failed: ${input.message}`, quiet: false };
  if (input.kind === 'tick' && Math.abs(input.now - prior.seenAt) > policy.jumpMs) {
    return { why: `the clock jumped ${Math.round((input.now - prior.seenAt) / 1000)} s (a suspend?)`, quiet: false };
  }
  return { why: `traffic went out and nothing came back for ${Math.round(policy.silenceMs / 100) / 10} s`, quiet: true };
}

function reportText(r: HopReport): string {
  return `${r.interface} on ephemeral key ${r.ephemeralPublicKey}, PSK fingerprint ${r.pskFingerprint}`;
}
