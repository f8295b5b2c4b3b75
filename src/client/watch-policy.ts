/**
 * The watcher's decisions, as pure functions over a state and the time given to them:
 * when to rotate, when a tunnel is dead, what to fall back to, how long to back off. The
 * runtime (watch.ts) carries each action out and feeds the outcome back; tests drive this
 * module with a virtual clock and never sleep.
 *
 * The one rule behind every transition: a failed change returns to the key that last
 * worked, never to one that was just shown broken; and a tunnel whose ephemeral key the
 * relay no longer answers goes back to the parent key the relay always knows.
 */
import { PqpskError } from '../errors.js';

/**
 * The states of a watched tunnel.
 * - `starting`: before the first verified switch; negotiating from the key found.
 * - `protected`: on a verified ephemeral key with a PSK.
 * - `suspect`: on an ephemeral key, but traffic leaves and nothing comes back (or the
 *   clock jumped, as after a suspend): a probe decides.
 * - `dead`: the relay does not answer the ephemeral key: go back to the parent key.
 * - `unprotected`: on the parent key, which works; negotiation is retried with backoff.
 * - `outage`: not even the parent key gets an answer; probes continue with backoff.
 */
export type TunnelPhase = 'starting' | 'protected' | 'suspect' | 'dead' | 'unprotected' | 'outage';

/**
 * How a rotation reaches the relay. `ephemeral`: the request names the live ephemeral key
 * as its parent (make-before-break). `parent-claim`: it names the parent key but still
 * travels in the live ephemeral tunnel. `parent-key`: the interface goes back to its
 * parent key first, then negotiates from it (for relays that refuse both).
 */
export type RotationRoute = 'ephemeral' | 'parent-claim' | 'parent-key';

/** What the policy needs to know that does not change. */
export interface WatchPolicyConfig {
  /** Mean rotation period; null: no rotation. */
  readonly rotateMs: number | null;
  /** Rotation jitter as a fraction of the period (0.1 = ±10 %). */
  readonly jitter: number;
  /** Traffic leaving without any coming back for this long makes the tunnel suspect. */
  readonly silenceMs: number;
  /** A gap between two looks longer than this means the machine slept or the clock jumped. */
  readonly jumpMs: number;
  /** First backoff step; doubles per consecutive failure up to `backoffCapMs`; each wait is spread ±50 % (see `backoff`). */
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

export const DEFAULT_POLICY: WatchPolicyConfig = Object.freeze({
  rotateMs: 3_600_000,
  jitter: 0.1,
  silenceMs: 1_500,
  jumpMs: 10_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
});

/** Transfer counters of the relay peer (bytes), as `wg show <if> transfer` gives them. */
export interface TrafficSample {
  readonly rx: number;
  readonly tx: number;
}

/** Everything the watcher remembers between decisions. Plain data, no secrets. */
export interface WatchState {
  readonly phase: TunnelPhase;
  /** Whether the interface holds an ephemeral key (not its parent). */
  readonly onEphemeral: boolean;
  /** The time of the last decision (ms since the epoch). */
  readonly seenAt: number;
  /** When the next rotation is due (protected) or the next retry (other phases). */
  readonly dueAt: number;
  /** Consecutive failures since the last success: the backoff step. */
  readonly failures: number;
  readonly route: RotationRoute;
  /** A rotation was asked for (SIGHUP). */
  readonly rotateNow: boolean;
  /** The last counters seen per hop, and since when traffic has left a hop without any coming back. */
  readonly traffic: readonly TrafficSample[] | null;
  readonly silentSince: readonly (number | null)[];
  /** Set when the tunnel died; cleared (counting a recovery) on the next verified switch. */
  readonly healing: boolean;
  /** A rotation through the parent key is under way (it counts as a rotation, not a recovery). */
  readonly rotating: boolean;
  readonly rotations: number;
  readonly recoveries: number;
  readonly lastError: string | null;
  /** When the current key was verified (ms since the epoch), or null. */
  readonly negotiatedAt: number | null;
}

/** What the runtime should do next. */
export type WatchAction =
  | { readonly kind: 'wait'; readonly untilMs: number }
  | { readonly kind: 'negotiate'; readonly route: RotationRoute; readonly attempt: number }
  | { readonly kind: 'probe' }
  | { readonly kind: 'fall-back' };

/** What happened, fed back into the policy. */
export type WatchInput =
  | { readonly kind: 'tick'; readonly now: number; readonly traffic: readonly TrafficSample[] | null }
  | { readonly kind: 'rotate-now'; readonly now: number }
  | { readonly kind: 'negotiated'; readonly now: number }
  | {
      readonly kind: 'negotiate-failed';
      readonly now: number;
      readonly code: string;
      readonly message: string;
      /** Whether the interface is back on a working key (false: the rollback did not verify). */
      readonly working: boolean;
    }
  | { readonly kind: 'probed'; readonly now: number; readonly alive: boolean }
  | { readonly kind: 'fell-back'; readonly now: number; readonly working: boolean; readonly message?: string };

/** The state of a watcher that has not switched yet. */
export function initialState(now: number, onEphemeral: boolean): WatchState {
  return {
    phase: 'starting',
    onEphemeral,
    seenAt: now,
    dueAt: now,
    failures: 0,
    route: 'ephemeral',
    rotateNow: false,
    traffic: null,
    silentSince: [],
    healing: false,
    rotating: false,
    rotations: 0,
    recoveries: 0,
    lastError: null,
    negotiatedAt: null,
  };
}

/** The next action for `state` at `now`. */
export function nextAction(state: WatchState, now: number): WatchAction {
  switch (state.phase) {
    case 'suspect':
      return { kind: 'probe' };
    case 'dead':
      return { kind: 'fall-back' };
    case 'outage':
      return now >= state.dueAt ? { kind: 'probe' } : { kind: 'wait', untilMs: state.dueAt };
    case 'starting':
    case 'unprotected':
      return now >= state.dueAt ? negotiateAction(state) : { kind: 'wait', untilMs: state.dueAt };
    case 'protected':
      if (state.rotateNow || now >= state.dueAt) {
        return state.route === 'parent-key' ? { kind: 'fall-back' } : negotiateAction(state);
      }
      return { kind: 'wait', untilMs: state.dueAt };
  }
}

function negotiateAction(state: WatchState): WatchAction {
  // On the parent key every route is the same: the request names the key the tunnel holds.
  return { kind: 'negotiate', route: state.onEphemeral ? state.route : 'ephemeral', attempt: state.failures };
}

/**
 * The classifier: the phase a tunnel is in after a look at its traffic at `now`. Only a
 * protected tunnel is judged by its traffic (on the parent key there is nothing better
 * to fall back to); a jump in time makes it suspect, since the relay may have dropped
 * the key while the machine slept.
 */
export function classify(state: WatchState, now: number, silentSince: readonly (number | null)[], config: WatchPolicyConfig): TunnelPhase {
  if (state.phase !== 'protected') return state.phase;
  const jumped = now - state.seenAt > config.jumpMs || now < state.seenAt - config.jumpMs;
  if (jumped) return 'suspect';
  if (silentSince.some((since) => since !== null && now - since >= config.silenceMs)) return 'suspect';
  return 'protected';
}

/** The state after `input`. `random` in [0, 1) jitters the rotation period. */
export function advance(state: WatchState, input: WatchInput, config: WatchPolicyConfig, random: () => number): WatchState {
  const now = input.now;
  switch (input.kind) {
    case 'tick': {
      const silentSince = (input.traffic ?? []).map((sample, i) => silenceAfter(state, i, sample, now));
      const phase = classify(state, now, silentSince, config);
      // A clock that went backwards would push a rotation far out: start the period again.
      const dueAt = now < state.seenAt && state.phase === 'protected' ? Math.min(state.dueAt, rotationDue(now, config, random)) : state.dueAt;
      return { ...state, phase, dueAt, seenAt: now, traffic: input.traffic, silentSince: phase === 'suspect' ? [] : silentSince };
    }
    case 'rotate-now':
      return { ...state, rotateNow: true, dueAt: state.phase === 'protected' ? state.dueAt : now, seenAt: now };
    case 'negotiated':
      return {
        ...fresh(state, now),
        phase: 'protected',
        onEphemeral: true,
        failures: 0,
        rotateNow: false,
        dueAt: rotationDue(now, config, random),
        healing: false,
        rotating: false,
        rotations: state.rotations + (state.phase === 'protected' || state.rotating ? 1 : 0),
        recoveries: state.recoveries + (state.healing ? 1 : 0),
        lastError: null,
        negotiatedAt: now,
      };
    case 'negotiate-failed': {
      const base = { ...fresh(state, now), lastError: input.message, rotateNow: false };
      if (input.code === 'PERMISSION_DENIED' && state.onEphemeral && state.route !== 'parent-key') {
        // The relay will not take this route from a live ephemeral: try the next one now.
        const route: RotationRoute = state.route === 'ephemeral' ? 'parent-claim' : 'parent-key';
        return route === 'parent-key' ? { ...base, route, phase: 'dead', rotating: !state.healing && state.phase === 'protected' } : { ...base, route, dueAt: now };
      }
      const failures = state.failures + 1;
      if (!input.working) {
        return state.onEphemeral
          ? { ...base, failures, phase: 'dead', healing: true }
          : { ...base, failures, phase: 'outage', dueAt: now + backoff(failures, config, random) };
      }
      if (!state.onEphemeral) return { ...base, failures, phase: 'unprotected', dueAt: now + backoff(failures, config, random) };
      // Still on a working ephemeral (the rollback verified it), but the exchange may have
      // failed because the tunnel is gone: a probe tells a dead tunnel from a busy relay.
      const retryAt = now + backoff(failures, config, random);
      return exchangeFailure(input.code) ? { ...base, failures, phase: 'suspect', dueAt: retryAt } : { ...base, failures, phase: 'protected', dueAt: retryAt };
    }
    case 'probed': {
      const base = fresh(state, now);
      if (input.alive) {
        if (state.onEphemeral) return { ...base, phase: 'protected' };
        return { ...base, phase: 'unprotected', dueAt: now };
      }
      if (state.onEphemeral) return { ...base, phase: 'dead', healing: true, lastError: 'the relay does not answer the ephemeral key' };
      const failures = state.failures + 1;
      return { ...base, phase: 'outage', failures, dueAt: now + backoff(failures, config, random), lastError: 'the relay does not answer the parent key' };
    }
    case 'fell-back': {
      const rotating = state.rotating || (state.phase === 'protected' && !state.healing);
      const base = { ...fresh(state, now), onEphemeral: false, negotiatedAt: null, rotating };
      if (input.working) return { ...base, phase: 'unprotected', dueAt: now };
      const failures = state.failures + 1;
      return { ...base, phase: 'outage', failures, dueAt: now + backoff(failures, config, random), lastError: input.message ?? 'the parent key does not work either' };
    }
  }
}

/**
 * The backoff before retry number `failures` (1-based): base × 2^(n−1), capped, then
 * spread ±50 % by `random` in [0, 1) (0.5: the step itself). Why the spread: after a relay
 * restart thousands of watchers fail together; without it they retry together, in waves
 * the relay cannot take, with the relay idle in between.
 */
export function backoff(failures: number, config: WatchPolicyConfig, random: () => number): number {
  const step = Math.min(config.backoffCapMs, config.backoffBaseMs * 2 ** Math.min(Math.max(0, failures - 1), 20));
  return Math.max(1, Math.round(step * (0.5 + random())));
}

/** When the next rotation is due: the period ± jitter from `now`; never when rotation is off. */
export function rotationDue(now: number, config: WatchPolicyConfig, random: () => number): number {
  if (config.rotateMs === null) return Number.POSITIVE_INFINITY;
  const spread = config.rotateMs * config.jitter * (2 * random() - 1);
  return now + Math.max(1, Math.round(config.rotateMs + spread));
}

/** Whether a protected tunnel counts as protected for `pqpsk status`: suspect still is until a probe says otherwise. */
export function isProtectedPhase(phase: TunnelPhase): boolean {
  return phase === 'protected' || phase === 'suspect';
}

/** Check a policy configuration (the CLI's flags), with labelled errors. */
export function checkPolicy(config: WatchPolicyConfig): WatchPolicyConfig {
  if (config.rotateMs !== null && !(Number.isFinite(config.rotateMs) && config.rotateMs >= 1000)) {
    throw new PqpskError('INVALID_INPUT', '--rotate: expected a duration of at least 1s, or off');
  }
  if (!(config.jitter >= 0 && config.jitter < 1)) throw new PqpskError('INVALID_INPUT', 'rotation jitter: expected a fraction in [0, 1)');
  return config;
}

/** Errors that mean the request did not get through, as a dead tunnel would cause. */
function exchangeFailure(code: string): boolean {
  return code === 'TIMEOUT' || code === 'RPC_FAILURE';
}

/**
 * Since when traffic has left hop `i` without any coming back, after a new sample at
 * `now`. Times are clamped to `now`: after a small step back of the clock (too small to
 * count as a jump) a silence must not seem to start in the future, which would delay
 * noticing a dead tunnel by the size of the step.
 */
function silenceAfter(state: WatchState, i: number, sample: TrafficSample, now: number): number | null {
  const before = state.traffic?.[i];
  if (before === undefined || sample.rx < before.rx || sample.tx < before.tx) return null;
  if (sample.rx > before.rx) return null;
  const since = state.silentSince[i] ?? null;
  if (sample.tx > before.tx) return Math.min(since ?? state.seenAt, now);
  return since === null ? null : Math.min(since, now);
}

/** The parts of a state that start over after any action: the traffic baseline and the look time. */
function fresh(state: WatchState, now: number): WatchState {
  return { ...state, seenAt: now, traffic: null, silentSince: [] };
}
