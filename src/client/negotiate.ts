/**
 * `pqpsk negotiate` without the terminal: single hop and multihop, attempts on the
 * published schedule, a switch in one `wg set` per interface, verification, and rollback
 * that leaves every tunnel on the key it had: a switch that cannot be shown to work is
 * undone, never left half-applied.
 *
 * Secrets held here: each interface's current private key (and PSK, when it has one),
 * kept in memory only for rollback, and each attempt's ephemeral key and PSK. All are
 * wiped in `finally` blocks — best effort in JS (the engine may have made copies).
 */
import { PqpskError, isPqpskError, type PqpskErrorCode } from '../errors.js';
import type { Kem } from '../kem/types.js';
import { attemptTimeoutMs, negotiationOrder } from '../protocol/plan.js';
import { publicKeyFromText } from '../wg/keys.js';
import type { WgControl } from '../wg/types.js';
import { exchange, type Exchange, type RegisterCall } from './exchange.js';
import { netProbe } from './probe.js';
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
export type MssGuard = (service: string) => Promise<MssClamp>;

/** What the negotiation needs from outside: WireGuard, KEMs, the network, time. */
export interface NegotiateDeps {
  readonly wg: WgControl;
  readonly kems: readonly Kem[];
  readonly probe?: TunnelProbe;
  readonly call?: RegisterCall;
  readonly clock?: Clock;
  /**
   * Reads a peer's current PSK into memory (WgControl deliberately has no such read). Used
   * only when the interface already has a PSK — it is on an ephemeral key from an earlier
   * negotiation — so a rollback restores key *and* PSK. Without it, rollback clears the PSK.
   */
  readonly readPresharedKey?: (iface: string, peer: string) => Promise<Uint8Array | null>;
  readonly mssGuard?: MssGuard;
  readonly onEvent?: (event: ClientEvent) => void;
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
}

/** What the interface held before we touched it: the state a rollback restores. */
interface Parent {
  readonly hop: HopSpec;
  readonly peer: string;
  readonly publicKeyText: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
  readonly psk: Uint8Array | null;
}

/** Errors about our own set-up: retrying cannot help, so they end the run (exit 2). */
const LOCAL_CODES: readonly PqpskErrorCode[] = ['INVALID_INPUT', 'UNSUPPORTED_ALGORITHM', 'NOT_FOUND', 'SETUP', 'INTERNAL'];

/**
 * Negotiate PSKs for the hops (exit before entry), switch and verify them all, or leave
 * every interface on its parent key and throw. Errors carry a one-line message.
 */
export async function negotiate(options: NegotiateOptions, deps: NegotiateDeps): Promise<NegotiationReport> {
  checkOptions(options);
  const clock = deps.clock ?? systemClock;
  const emit = deps.onEvent ?? (() => undefined);
  const start = clock.now();
  const ordered = negotiationOrder(options.hops);
  const parents: Parent[] = [];
  const clamps: MssClamp[] = [];
  try {
    for (const hop of ordered) parents.push(await readParent(hop, deps));
    if (deps.mssGuard !== undefined) {
      for (const hop of ordered) {
        const clamp = await deps.mssGuard(hop.service);
        clamps.push(clamp);
        emit({ kind: 'mss-clamp', service: hop.service, applied: clamp.applied, message: clamp.message });
      }
    }

    let lastError: PqpskError | null = null;
    for (let attempt = 0; options.maxAttempts === null || attempt < options.maxAttempts; attempt++) {
      const timeoutMs = attemptTimeoutMs(attempt, options.timeoutScale);
      const attemptStart = clock.now();
      emit({ kind: 'attempt', attempt: attempt + 1, timeoutMs });
      try {
        const hops = await attemptOnce(parents, timeoutMs, options, deps, clock, emit);
        return { hops, attempts: attempt + 1, totalMs: clock.now() - start };
      } catch (err) {
        if (!isPqpskError(err) || LOCAL_CODES.includes(err.code)) throw err;
        lastError = err;
        emit({ kind: 'attempt-failed', attempt: attempt + 1, code: err.code, message: err.message });
        if (err instanceof RollbackFailed) throw err;
      }
      // An attempt owns its whole window: a quick failure (nothing listening) waits it out,
      // so retries follow the schedule instead of spinning.
      const left = attemptStart + timeoutMs - clock.now();
      if (left > 0 && (options.maxAttempts === null || attempt + 1 < options.maxAttempts)) await clock.sleep(left);
    }
    const n = options.maxAttempts ?? 0;
    const code: PqpskErrorCode = lastError === null || LOCAL_CODES.includes(lastError.code) ? 'RPC_FAILURE' : lastError.code;
    const which = parents.map((p) => p.hop.iface).join(' and ');
    throw new PqpskError(
      code,
      `gave up after ${n} attempt${n === 1 ? '' : 's'}: ${lastError?.message ?? 'no attempt made'}; ${which} left on ${parents.length > 1 ? 'their' : 'its'} previous key`,
      { cause: lastError },
    );
  } finally {
    for (const clamp of clamps.reverse()) await clamp.undo().catch(() => undefined);
    for (const p of parents) {
      p.privateKey.fill(0);
      p.psk?.fill(0);
    }
  }
}

/** A rollback that did not bring the tunnel back: reported, never retried over. */
export class RollbackFailed extends PqpskError {}

/** One attempt over all hops; on any failure after a switch, every touched hop is rolled back. */
async function attemptOnce(
  parents: readonly Parent[],
  timeoutMs: number,
  options: NegotiateOptions,
  deps: NegotiateDeps,
  clock: Clock,
  emit: (event: ClientEvent) => void,
): Promise<HopReport[]> {
  const probe = deps.probe ?? netProbe;
  const exchanges: Exchange[] = [];
  const touched: Parent[] = [];
  const spans: { exchangeMs: number; switchMs: number; verifyMs: number }[] = [];
  try {
    // Exit first: its request travels through both tunnels while both still carry their parents.
    for (const parent of parents) {
      const begun = clock.now();
      const deps2 = { kems: deps.kems, now: () => clock.now(), ...(deps.call === undefined ? {} : { call: deps.call }) };
      const ex = await exchange(parent.publicKey, parent.hop.service, timeoutMs, deps2);
      exchanges.push(ex);
      spans.push({ exchangeMs: clock.now() - begun, switchMs: 0, verifyMs: 0 });
      emit({ kind: 'exchanged', role: parent.hop.role, iface: parent.hop.iface, ephemeralPublicKey: ex.publicKey, pskFingerprint: ex.psk.fingerprint() });
    }

    const changedAt: number[] = [];
    const baselines: number[] = [];
    for (const [i, parent] of parents.entries()) {
      const baseline = (await deps.wg.latestHandshakes(parent.hop.iface)).get(parent.peer) ?? 0;
      await leaveSecond(baseline, clock);
      baselines.push(baseline);
      const ex = exchanges[i]!;
      const t0 = clock.now();
      changedAt.push(t0);
      touched.push(parent);
      await deps.wg.set(parent.hop.iface, {
        privateKey: ex.privateKey(),
        peers: [{ publicKey: parent.peer, presharedKey: ex.psk.bytes() }],
      });
      spans[i]!.switchMs = clock.now() - t0;
      emit({ kind: 'switched', role: parent.hop.role, iface: parent.hop.iface });
    }
    if (deps.holdAfterSwitchMs !== undefined && deps.holdAfterSwitchMs > 0) await clock.sleep(deps.holdAfterSwitchMs);

    // Verify the outer tunnel before the inner one that runs through it.
    for (const i of verifyOrder(parents)) {
      const parent = parents[i]!;
      const t0 = clock.now();
      await verifyTunnel(
        { iface: parent.hop.iface, peer: parent.peer, service: parent.hop.service, baselineHandshake: baselines[i]!, changedAtMs: changedAt[i]! },
        { wg: deps.wg, probe, clock, timeoutMs: options.verifyTimeoutMs },
      );
      spans[i]!.verifyMs = clock.now() - t0;
      emit({ kind: 'verified', role: parent.hop.role, iface: parent.hop.iface });
    }

    return parents.map((parent, i): HopReport => {
      const ex = exchanges[i]!;
      const span = spans[i]!;
      return {
        role: parent.hop.role,
        interface: parent.hop.iface,
        peer: parent.peer,
        service: parent.hop.service,
        parentPublicKey: parent.publicKeyText,
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
  } catch (err) {
    if (touched.length > 0) await rollback(touched, err, options, deps, clock, emit);
    throw err;
  } finally {
    for (const ex of exchanges) ex.wipe();
  }
}

/**
 * Put every touched interface back on its parent key (and its PSK, or none), then show
 * each tunnel works again, outer first. Throws RollbackFailed when one does not.
 */
async function rollback(
  touched: readonly Parent[],
  cause: unknown,
  options: NegotiateOptions,
  deps: NegotiateDeps,
  clock: Clock,
  emit: (event: ClientEvent) => void,
): Promise<void> {
  const probe = deps.probe ?? netProbe;
  const changes: { parent: Parent; baseline: number; at: number }[] = [];
  const failures: string[] = [];
  for (const parent of touched) {
    try {
      const baseline = (await deps.wg.latestHandshakes(parent.hop.iface)).get(parent.peer) ?? 0;
      await leaveSecond(baseline, clock);
      const at = clock.now();
      await deps.wg.set(parent.hop.iface, {
        privateKey: parent.privateKey,
        peers: [{ publicKey: parent.peer, presharedKey: parent.psk }],
      });
      changes.push({ parent, baseline, at });
    } catch (err) {
      const message = `${parent.hop.iface}: could not restore the previous key: ${messageOf(err)}`;
      failures.push(message);
      emit({ kind: 'rolled-back', role: parent.hop.role, iface: parent.hop.iface, working: false, message });
    }
  }
  for (const i of verifyOrder(changes.map((c) => c.parent))) {
    const { parent, baseline, at } = changes[i]!;
    try {
      await verifyTunnel(
        { iface: parent.hop.iface, peer: parent.peer, service: parent.hop.service, baselineHandshake: baseline, changedAtMs: at },
        { wg: deps.wg, probe, clock, timeoutMs: options.verifyTimeoutMs },
      );
      emit({ kind: 'rolled-back', role: parent.hop.role, iface: parent.hop.iface, working: true });
    } catch (err) {
      const message = `${parent.hop.iface}: back on the previous key but the tunnel does not work: ${messageOf(err)}`;
      failures.push(message);
      emit({ kind: 'rolled-back', role: parent.hop.role, iface: parent.hop.iface, working: false, message });
    }
  }
  if (failures.length > 0) {
    throw new RollbackFailed('VERIFY_FAILED', `${messageOf(cause)}; rollback: ${failures.join('; ')}`, { cause });
  }
}

/** Indices in verification order: entry (outer) first, then exit, as given otherwise. */
function verifyOrder(parents: readonly { readonly hop: HopSpec }[]): number[] {
  const rank = { entry: 0, single: 1, exit: 2 } as const;
  return parents.map((_, i) => i).sort((a, b) => rank[parents[a]!.hop.role] - rank[parents[b]!.hop.role]);
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

async function readParent(hop: HopSpec, deps: NegotiateDeps): Promise<Parent> {
  const state = await deps.wg.show(hop.iface);
  let peer: string;
  if (hop.peer !== null) {
    if (!state.peers.some((p) => p.publicKey === hop.peer)) {
      throw new PqpskError('NOT_FOUND', `${hop.iface}: no peer with the public key given by --peer`);
    }
    peer = hop.peer;
  } else if (state.peers.length === 1) {
    peer = state.peers[0]!.publicKey;
  } else {
    throw new PqpskError('INVALID_INPUT', `${hop.iface} has ${state.peers.length} peers; name the relay with --peer`);
  }
  if (state.publicKey === '' || state.publicKey === '(none)') {
    throw new PqpskError('NOT_FOUND', `WireGuard interface ${hop.iface} has no private key`);
  }
  const publicKey = publicKeyFromText(`${hop.iface} public key`, state.publicKey);
  const privateKey = await deps.wg.readPrivateKey(hop.iface);
  let psk: Uint8Array | null = null;
  try {
    const hasPsk = state.peers.find((p) => p.publicKey === peer)?.hasPresharedKey === true;
    if (hasPsk && deps.readPresharedKey !== undefined) psk = await deps.readPresharedKey(hop.iface, peer);
  } catch (err) {
    privateKey.fill(0);
    throw err;
  }
  return { hop, peer, publicKeyText: state.publicKey, publicKey, privateKey, psk };
}

function checkOptions(options: NegotiateOptions): void {
  const roles = options.hops.map((h) => h.role).sort().join(',');
  if (roles !== 'single' && roles !== 'entry,exit') {
    throw new PqpskError('INVALID_INPUT', 'hops: expected one single hop, or an entry and an exit');
  }
  if (options.hops.length === 2 && options.hops[0]!.iface === options.hops[1]!.iface) {
    throw new PqpskError('INVALID_INPUT', '--entry and --exit: expected two different interfaces');
  }
  if (options.maxAttempts !== null && !(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) {
    throw new PqpskError('INVALID_INPUT', `--max-attempts: expected a whole number ≥ 1, got ${options.maxAttempts}`);
  }
  if (!(Number.isFinite(options.verifyTimeoutMs) && options.verifyTimeoutMs > 0)) {
    throw new PqpskError('INVALID_INPUT', '--verify-timeout: expected a positive duration');
  }
  attemptTimeoutMs(0, options.timeoutScale);
}

function messageOf(err: unknown): string {
  return isPqpskError(err) ? err.message : 'unexpected error';
}
