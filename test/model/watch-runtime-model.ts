/**
 * Model-based test of the watcher's runtime (src/client/watch.ts), where the policy model
 * (watch-model.ts) cannot look: the real loop, with its real Negotiation, on the in-memory
 * WireGuard, a simulated relay behind an injected RegisterPeerV1 call and a virtual
 * clock. fast-check picks a sequence of world events; each is delivered at the next
 * moment the loop hands control to the world — a sleep, a `wg set`, a relay call, a look
 * at the traffic, a probe — so a SIGHUP, a stop, a clock jump or a relay that changes its
 * mind also lands in the middle of a switch. When the events run out the watcher is
 * stopped. Checked throughout:
 *
 *   R1 never two switches at once: no `wg set` of a key or a PSK starts while another is
 *      still under way on the interface;
 *   R2 status tells the truth between steps (each time the loop is back to waiting, and
 *      after it stops): the key it names is the interface's, on-ephemeral matches it, the
 *      PSK fingerprint is the one of the PSK the interface holds (none on the parent key),
 *      a negotiation time exists exactly while on an ephemeral key, "protected" and a next
 *      rotation are claimed only there;
 *   R3 the loop ends after a stop, and never throws for the relay's misbehaviour;
 *   R4 once the interface is deleted (even mid-switch) no `wg set` starts: a new
 *      interface of the same name would be someone else's.
 *
 * The world is small: which keys (with which PSK) the relay holds, how it answers, and
 * whether the interface still exists. A tunnel works when the relay holds the
 * interface's key with the PSK the interface uses (the parent key, with none, always).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClientKems } from '../../src/client/kems.js';
import type { RegisterCall } from '../../src/client/exchange.js';
import { TunnelWatcher, type WatchStatus } from '../../src/client/watch.js';
import { DEFAULT_POLICY } from '../../src/client/watch-policy.js';
import { PqpskError } from '../../src/errors.js';
import { combineSharedSecrets, pskFingerprint } from '../../src/kem/psk.js';
import type { Kem, KemName } from '../../src/kem/types.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { clientInterface, SimNetwork, VirtualClock, wgKeypair, type Registration, type TestRelay } from '../client/helpers.js';
import { inThreadKems } from '../fixtures/kems.js';
import type { ModelStats } from './relay-model.js';

const IFACE = 'wgw0';
/** Documentation address: the simulated relay is reached only through the injected call. */
const SERVICE = '192.0.2.7:1337';

/** How the simulated relay answers a request that reaches it. */
type RelayMode = 'good' | 'garbage' | 'wrong-psk' | 'refuse' | 'slow' | 'down';

export type RuntimeEvent =
  | { readonly kind: 'relay'; readonly mode: RelayMode }
  /** The relay forgets every ephemeral key (expired, restarted without its book). */
  | { readonly kind: 'forget' }
  | { readonly kind: 'jump'; readonly ms: number }
  | { readonly kind: 'sighup' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'stop' };

export function eventText(e: RuntimeEvent): string {
  switch (e.kind) {
    case 'relay':
      return `relay ${e.mode}`;
    case 'jump':
      return `jump ${e.ms} ms`;
    default:
      return e.kind;
  }
}

/** The simulated world and the checks, around one real TunnelWatcher. */
export class RuntimeWorld {
  readonly wg = new FakeWgControl();
  readonly clock = new VirtualClock();
  readonly registrations: Registration[] = [];
  readonly trail: string[] = [];
  readonly violations: string[] = [];
  mode: RelayMode = 'good';
  present = true;
  relayKey = wgKeypair().publicKey;
  parentKey = '';
  watcher!: TunnelWatcher;
  /** Hand-over points the loop passed (a measure of how far a sequence got). */
  steps = 0;
  #switching = 0;
  #rx = 0;
  #tx = 0;
  #events: RuntimeEvent[] = [];
  #stopped = false;
  #look: (() => void) | null = null;
  readonly #relayKems = inThreadKems();

  async open(events: readonly RuntimeEvent[], kems: readonly Kem[]): Promise<void> {
    this.#events = [...events];
    this.parentKey = (await clientInterface(this.wg, IFACE, this.relayKey, '10.64.0.1/32')).publicKey;
    // The probe's view of the relay: the keys it holds, with their PSKs.
    const relay = { address: SERVICE, registrations: this.registrations, queue: [], mode: 'good', close: () => undefined } satisfies TestRelay;
    const net = new SimNetwork(this.wg, new Map([[SERVICE, { iface: IFACE, relayPeer: this.relayKey, relay, parentPublicKey: this.parentKey }]]), this.clock);
    const wg = this.#guardedWg();
    this.watcher = await TunnelWatcher.open(
      {
        hops: [{ role: 'single', iface: IFACE, peer: null, service: SERVICE }],
        policy: { ...DEFAULT_POLICY, rotateMs: 60_000 },
        timeoutScale: 0.25,
        verifyTimeoutMs: 1500,
        tickMs: 1000,
        // As the CLI does: read before the watcher opens, so the loop alone asks later.
        interfaceIndexes: new Map([[IFACE, 1]]),
        probeTimeoutMs: 2000,
      },
      {
        wg,
        kems,
        probe: net,
        clock: this.#handingOver(net.clock),
        call: this.#relayCall(),
        traffic: async () => {
          await this.handOver('traffic');
          this.#tx += 1000;
          if (this.works()) this.#rx += 1000;
          return { rx: this.#rx, tx: this.#tx };
        },
        answers: async () => {
          await this.handOver('probe');
          return this.works();
        },
        interfaceIndex: () => {
          // Asked by the loop between two steps, or by the look below right after `gone`.
          this.checkStatus('between steps');
          return this.present ? 1 : null;
        },
        // No look on a timer: the world looks at once when it deletes the interface, mid-step.
        repeat: (check) => {
          this.#look = check;
          return () => {
            this.#look = null;
          };
        },
        random: () => 0.5,
      },
    );
  }

  /** The interface's public key now, read synchronously (no step of the loop in between). */
  currentKey(): string {
    const privateKey = this.wg.privateKeyOf(IFACE);
    assert.ok(privateKey !== null, 'the interface has a key');
    try {
      return publicKeyToText(publicKeyOf(privateKey));
    } finally {
      privateKey.fill(0);
    }
  }

  /** Whether the relay holds the interface's key with the interface's PSK. */
  works(): boolean {
    const key = this.currentKey();
    const psk = this.wg.presharedKeyOf(IFACE, this.relayKey);
    try {
      if (key === this.parentKey) return psk === null;
      return this.registrations.some((r) => r.ephemeral === key && psk !== null && Buffer.from(r.psk).equals(Buffer.from(psk)));
    } finally {
      psk?.fill(0);
    }
  }

  /** Deliver the next event, if any; with none left, stop the watcher. */
  async handOver(where: string): Promise<void> {
    this.steps++;
    const event = this.#events.shift();
    if (event === undefined) {
      this.stopOnce('events exhausted');
      return;
    }
    this.trail.push(`${where}: ${eventText(event)}`);
    switch (event.kind) {
      case 'relay':
        this.mode = event.mode;
        break;
      case 'forget':
        this.registrations.length = 0;
        break;
      case 'jump':
        this.clock.stepped += event.ms;
        break;
      case 'sighup':
        this.watcher.rotateNow();
        break;
      case 'gone':
        this.present = false;
        this.#look?.();
        break;
      case 'stop':
        this.stopOnce('stop');
        break;
      case 'idle':
        break;
    }
  }

  stopOnce(why: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.trail.push(why);
    this.watcher.stop();
  }

  /**
   * R2: what status says against what the interface holds, read in one synchronous go.
   * A deleted interface holds nothing to compare (the fake keeps its last state).
   */
  checkStatus(when: string): void {
    if (!this.present) return;
    const st: WatchStatus = this.watcher.status();
    const key = this.currentKey();
    const psk = this.wg.presharedKeyOf(IFACE, this.relayKey);
    try {
      const hop = st.hops[0]!;
      const onEphemeral = key !== this.parentKey;
      const fail = (what: string): void => {
        this.violations.push(`R2 (${when}): ${what}`);
      };
      if (hop.publicKey !== key) fail(`status names key ${hop.publicKey.slice(0, 8)}…, the interface holds ${key.slice(0, 8)}…`);
      if (hop.parentPublicKey !== this.parentKey) fail('status names another parent key');
      if (st.onEphemeral !== onEphemeral) fail(`status says on ${st.onEphemeral ? 'an ephemeral' : 'the parent'} key, the interface is on ${onEphemeral ? 'an ephemeral' : 'the parent'} key`);
      const truth = psk === null ? null : pskFingerprint(psk);
      if (hop.pskFingerprint !== (onEphemeral ? truth : null)) fail(`status shows PSK fingerprint ${hop.pskFingerprint ?? 'none'}, the interface holds ${truth ?? 'none'}`);
      if ((st.negotiatedAt !== null) !== st.onEphemeral) fail('a negotiation time without an ephemeral key, or none with one');
      if (st.protected && !onEphemeral) fail('"protected" on the parent key');
      if (st.nextRotationAt !== null && !st.protected) fail('a next rotation while not protected');
    } finally {
      psk?.fill(0);
    }
  }

  /** The fake, with every key or PSK change watched for overlap (R1) and handed over mid-way. */
  #guardedWg(): FakeWgControl {
    const fake = this.wg;
    return new Proxy(fake, {
      get: (target, prop, receiver) => {
        if (prop === 'set') {
          return async (iface: string, change: Parameters<FakeWgControl['set']>[1]) => {
            const switches = change.privateKey !== undefined || (change.peers ?? []).some((p) => p.presharedKey !== undefined);
            if (!this.present) this.violations.push('R4: a wg set began after the interface was deleted');
            if (!switches) return target.set(iface, change);
            if (this.#switching > 0) this.violations.push(`R1: a switch began while ${this.#switching} was under way`);
            this.#switching++;
            try {
              // A switch takes time: the world (a SIGHUP, a stop, the relay) may act meanwhile.
              await this.handOver('mid-switch');
              await new Promise((resolve) => setImmediate(resolve));
              await target.set(iface, change);
            } finally {
              this.#switching--;
            }
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The virtual clock, handing over to the world at every sleep. */
  #handingOver(clock: VirtualClock): VirtualClock {
    return new Proxy(clock, {
      get: (target, prop, receiver) => {
        if (prop === 'sleep') {
          return async (ms: number) => {
            await this.handOver('sleep');
            await target.sleep(ms);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The simulated relay's RegisterPeerV1: reachable only through a working tunnel. */
  #relayCall(): RegisterCall {
    return async (_target, request, options) => {
      await this.handOver('relay call');
      const late = async (why: string): Promise<never> => {
        const wait = options.deadline - this.clock.now();
        if (wait > 0) this.clock.slept += wait + 1;
        throw new PqpskError('TIMEOUT', `no answer before the deadline (${why})`);
      };
      if (this.mode === 'down' || !this.works()) return late('the request does not get through');
      if (this.mode === 'slow') return late('the relay is slow');
      if (this.mode === 'refuse') throw new PqpskError('PERMISSION_DENIED', 'the relay refuses the parent');
      const keys = request.post_quantum?.kem_pubkeys ?? [];
      if (this.mode === 'garbage') return { post_quantum: { ciphertexts: [] }, daita: null };
      const ciphertexts: Buffer[] = [];
      const secrets: Uint8Array[] = [];
      for (const k of keys) {
        const kem = this.#relayKems.get(k.algorithm_name as KemName)!;
        const target = this.mode === 'wrong-psk' ? (await kem.keygen()).publicKey : k.key_data;
        const enc = await kem.encapsulate(target);
        ciphertexts.push(Buffer.from(enc.ciphertext));
        secrets.push(enc.sharedSecret);
      }
      const ephemeral = Buffer.from(request.wg_ephemeral_peer_pubkey).toString('base64');
      const parent = Buffer.from(request.wg_parent_pubkey).toString('base64');
      this.registrations.push({ parent, ephemeral, psk: combineSharedSecrets(secrets) });
      for (const s of secrets) s.fill(0);
      return { post_quantum: { ciphertexts }, daita: null };
    };
  }
}

const MODES: readonly RelayMode[] = ['good', 'good', 'garbage', 'wrong-psk', 'refuse', 'slow', 'down'];

/** World events, weighted so a sequence usually runs a while before a stop. */
export const runtimeEvent: fc.Arbitrary<RuntimeEvent> = fc.oneof(
  { weight: 20, arbitrary: fc.constant<RuntimeEvent>({ kind: 'idle' }) },
  { weight: 8, arbitrary: fc.constantFrom(...MODES).map((mode): RuntimeEvent => ({ kind: 'relay', mode })) },
  { weight: 2, arbitrary: fc.constant<RuntimeEvent>({ kind: 'forget' }) },
  { weight: 3, arbitrary: fc.constantFrom(5000, 70_000, 3_600_000, -5000, -3_600_000).map((ms): RuntimeEvent => ({ kind: 'jump', ms })) },
  { weight: 4, arbitrary: fc.constant<RuntimeEvent>({ kind: 'sighup' }) },
  { weight: 1, arbitrary: fc.constant<RuntimeEvent>({ kind: 'stop' }) },
  { weight: 1, arbitrary: fc.constant<RuntimeEvent>({ kind: 'gone' }) },
);

/** Real seconds a stopped loop may take to end before it counts as a hang (it needs none). */
const HANG_MS = 20_000;

let clientKems: Kem[] | undefined;

/** Run the real watcher through one sequence of events; throws with the trail on a violation. */
export async function runWatcher(events: readonly RuntimeEvent[], stats?: ModelStats): Promise<void> {
  clientKems ??= createClientKems(['ML-KEM-1024']);
  const world = new RuntimeWorld();
  await world.open(events, clientKems);
  let threw: unknown = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ended = world.watcher.run().then(
      () => 'ended' as const,
      (err: unknown) => {
        threw = err;
        return 'ended' as const;
      },
    );
    const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(resolve, HANG_MS, 'hang')));
    const outcome = await Promise.race([ended, hang]);
    assert.equal(outcome, 'ended', 'R3: the loop ends after a stop');
    assert.equal(threw, null, `R3: the loop threw: ${String(threw)}`);
    world.checkStatus('after the stop');
    assert.deepEqual(world.violations, [], 'R1/R2');
  } catch (err) {
    if (err instanceof Error) err.message += `\n    trail (last 16): ${world.trail.slice(-16).join(' | ')}`;
    throw err;
  } finally {
    clearTimeout(timer);
    world.watcher.close();
    if (stats !== undefined) {
      stats.sequences++;
      stats.steps += world.steps;
      stats.longest = Math.max(stats.longest, world.steps);
    }
  }
}

/** Any sequence of up to `maxEvents` world events keeps R1–R3. */
export function watchRuntimeProperty(maxEvents: number, stats?: ModelStats): fc.IAsyncPropertyWithHooks<[RuntimeEvent[]]> {
  return fc.asyncProperty(fc.array(runtimeEvent, { maxLength: maxEvents }), (events) => runWatcher(events, stats));
}
