/**
 * A negotiation over one or two hops, and one attempt of it: exchange (exit first), switch
 * every hop make-before-break, verify (outer first), or roll back to the working keys.
 * It owns each hop's keys (hop-state.ts) and leans on the route steering (hop-route.ts),
 * the key switch (key-switch.ts) and the ways back (rollback.ts).
 *
 * Secrets held here: through its hops, each interface's working and parent private key;
 * each attempt's ephemeral key and PSK until its exchange is wiped in `finally`.
 */
import { negotiationOrder } from '../protocol/plan.js';
import { ServiceCallError } from '../rpc/status.js';
import { publicKeyFromText } from '../wg/keys.js';
import { exchange, type Exchange } from './exchange.js';
import type { HeadStart } from './head-start.js';
import { checkRoute, mssGuardForRun, throughHop, type MssClamp, type MssGuard } from './hop-route.js';
import type { Claim, HopState } from './hop-state.js';
import { goneAway, setKey, stopped, untilAborted, verifyChange, verifyOrder, type Change } from './key-switch.js';
import type { NegotiateDeps, NegotiationCore, NegotiationSettings } from './negotiation-deps.js';
import { checkHops, readHop } from './read-hop.js';
import { restoreHops, settleHops } from './rollback.js';
import type { HopReport, HopSpec } from './types.js';
import { systemClock } from './verify.js';

/**
 * A negotiation over one or two hops that owns their state: each hop's working and parent
 * key, the dependencies, the settings. `attempt` switches every hop make-before-break and
 * rolls back to the working keys on failure; `fallBackToParent` goes to the parent keys.
 */
export class Negotiation {
  /** Hops in negotiation order (exit before entry). */
  readonly hops: readonly HopState[];
  readonly #core: NegotiationCore;

  private constructor(hops: readonly HopState[], deps: NegotiateDeps, settings: NegotiationSettings) {
    this.hops = hops;
    this.#core = { deps, settings, clock: deps.clock ?? systemClock, emit: deps.onEvent ?? (() => undefined), multihop: hops.length > 1 };
  }

  /** Read every hop's interface: its relay peer, its current key (and PSK), its parent. */
  static async open(hops: readonly HopSpec[], deps: NegotiateDeps, settings: NegotiationSettings): Promise<Negotiation> {
    checkHops(hops);
    const states: HopState[] = [];
    try {
      for (const hop of negotiationOrder(hops)) states.push(await readHop(hop, deps.wg, settings.parentKeys?.get(hop.iface) ?? null));
    } catch (err) {
      for (const s of states) s.wipe();
      throw err;
    } finally {
      for (const key of settings.parentKeys?.values() ?? []) if (!states.some((s) => s.parent.privateKey === key)) key.fill(0);
    }
    return new Negotiation(states, deps, settings);
  }

  /** After a run gave up: every hop left on a key that carries traffic, and where (rollback.ts). */
  settle(): Promise<{ working: boolean; where: string }> {
    return settleHops(this.#core, this.hops);
  }

  /** Whether every hop is on an ephemeral key. */
  get onEphemeral(): boolean {
    return this.hops.every((h) => h.onEphemeral);
  }

  /**
   * The MSS guard for a single hop's config service, along the kernel's path, for the whole
   * run; the caller undoes it. Hops of a multihop take turns instead (hop-route.ts).
   */
  applyMssGuard(guard: MssGuard): Promise<MssClamp[]> {
    return mssGuardForRun(this.#core, this.hops, guard);
  }

  /**
   * One attempt over all hops: exchange (naming `claim` as the parent), switch, verify.
   * On any failure after a switch every touched hop returns to its working key.
   * `signal` (stopping) abandons the attempt before any switch; after one, the switch is
   * verified or rolled back first. `gone` (the interfaces were deleted) abandons it
   * wherever it is and touches nothing more: there is nothing left to put back, and a
   * new interface of the same name belongs to whoever made it.
   */
  async attempt(timeoutMs: number, claim: Claim, signal?: AbortSignal, gone?: AbortSignal, head?: HeadStart): Promise<HopReport[]> {
    const core = this.#core;
    const { clock, deps } = core;
    const exchanges: Exchange[] = [];
    const touched: HopState[] = [];
    const spans: { exchangeMs: number; switchMs: number; verifyMs: number }[] = [];
    let adopted = false;
    try {
      // Exit first: its request travels through both tunnels while both still carry their working keys.
      for (const hop of this.hops) {
        const begun = clock.monotonic();
        const claimed = claim === 'parent' ? hop.parent : hop.working;
        // A head start serves a single hop: its route check, connection and keys.
        const early = head !== undefined && this.hops.length === 1 ? head : undefined;
        const ex = await throughHop(core, hop, async () => {
          if (early === undefined) await checkRoute(core, hop);
          else await early.routed;
          const taken = early?.take();
          const call = taken?.call ?? deps.call;
          const deps2 = { kems: deps.kems, now: () => clock.now(), ...(call === undefined ? {} : { call }) };
          // The switch's `wg set` (a key and a PSK) finds its secret channel made while the request is out.
          deps.wg.prepareSet?.(2);
          const stopOrGone = signal === undefined || gone === undefined ? (signal ?? gone) : AbortSignal.any([signal, gone]);
          return untilAborted(exchange(claimed.publicKey, hop.spec.service, timeoutMs, deps2, taken?.keys), stopOrGone, (ex) => ex.wipe(), () => (gone?.aborted === true ? goneAway() : stopped())).catch((err: unknown) => {
            throw withAdvice(err, hop.spec);
          });
        });
        exchanges.push(ex);
        spans.push({ exchangeMs: clock.monotonic() - begun, switchMs: 0, verifyMs: 0 });
        core.emit({ kind: 'exchanged', role: hop.spec.role, iface: hop.spec.iface, ephemeralPublicKey: ex.publicKey, pskFingerprint: ex.psk.fingerprint() });
      }

      if (gone?.aborted === true) throw goneAway();
      if (signal?.aborted === true) throw stopped();
      const changes: Change[] = [];
      for (const [i, hop] of this.hops.entries()) {
        const ex = exchanges[i]!;
        touched.push(hop);
        const t0 = clock.monotonic();
        changes.push(await setKey(core, hop, ex.privateKey(), ex.psk.bytes(), gone));
        spans[i]!.switchMs = clock.monotonic() - t0;
        core.emit({ kind: 'switched', role: hop.spec.role, iface: hop.spec.iface });
      }
      if (deps.holdAfterSwitchMs !== undefined && deps.holdAfterSwitchMs > 0) await clock.sleep(deps.holdAfterSwitchMs);

      // Verify the outer tunnel before the inner one that runs through it.
      for (const i of verifyOrder(this.hops)) {
        const hop = this.hops[i]!;
        const t0 = clock.monotonic();
        await verifyChange(core, changes[i]!, gone);
        spans[i]!.verifyMs = clock.monotonic() - t0;
        core.emit({ kind: 'verified', role: hop.spec.role, iface: hop.spec.iface });
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
      if (touched.length > 0 && !adopted && gone?.aborted !== true) await restoreHops(core, touched, 'working', err);
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
    await restoreHops(this.#core, this.hops, 'parent', cause, gone);
  }

  wipe(): void {
    for (const hop of this.hops) hop.wipe();
  }

  toJSON(): string {
    return '<secret>';
  }
}

/** `err`, with the hop's advice added when nothing at all answered at its config service. */
function withAdvice(err: unknown, spec: HopSpec): unknown {
  if (!(err instanceof ServiceCallError) || err.outcome !== 'no-answer' || spec.noAnswerAdvice === undefined) return err;
  return new ServiceCallError(err.code, err.service, err.outcome, `${err.message} — ${spec.noAnswerAdvice}`, { cause: err });
}
