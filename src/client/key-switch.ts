/**
 * One key switch on one hop and the proof that it works: the `wg set` (after the second of
 * the last handshake), verification through the hop, the order hops are verified in, and
 * abandoning either when the caller stops or the interface is deleted.
 */
import { PqpskError } from '../errors.js';
import { throughHop } from './hop-route.js';
import type { HopState } from './hop-state.js';
import type { NegotiationCore } from './negotiation-deps.js';
import { netProbe } from './probe.js';
import { verifyTunnel, type Clock } from './verify.js';

/** A key change made on one hop: what verification compares against. */
export interface Change {
  readonly hop: HopState;
  readonly baseline: number;
  readonly at: number;
}

/** Put `hop` on `privateKey` with `psk` (null: none) in one `wg set`, in a second no handshake has used yet. */
export async function setKey(core: NegotiationCore, hop: HopState, privateKey: Uint8Array, psk: Uint8Array | null | 'unread', gone: AbortSignal | undefined): Promise<Change> {
  if (psk === 'unread') throw new PqpskError('INTERNAL', `${hop.spec.iface}: no PSK to restore`);
  const baseline = (await core.deps.wg.latestHandshakes(hop.spec.iface)).get(hop.peer) ?? 0;
  await leaveSecond(baseline, core.clock);
  // Checked last thing before the write: a new interface of the same name is not ours.
  if (gone?.aborted === true) throw goneAway();
  const at = core.clock.now();
  await core.deps.wg.set(hop.spec.iface, { privateKey, peers: [{ publicKey: hop.peer, presharedKey: psk }] });
  return { hop, baseline, at };
}

/** Show that a switch works: a fresh handshake and an answer through the hop, or throw. */
export async function verifyChange(core: NegotiationCore, change: Change, gone: AbortSignal | undefined): Promise<void> {
  const { hop, baseline, at } = change;
  await throughHop(core, hop, () =>
    untilAborted(
      verifyTunnel(
        { iface: hop.spec.iface, peer: hop.peer, service: hop.spec.service, baselineHandshake: baseline, changedAtMs: at },
        { wg: core.deps.wg, probe: core.deps.probe ?? netProbe, clock: core.clock, timeoutMs: core.settings.verifyTimeoutMs },
      ),
      gone,
      () => undefined,
      goneAway,
    ),
  );
}

/** Thrown when an attempt is abandoned before any switch because its caller is stopping. */
export function stopped(): PqpskError {
  return new PqpskError('TIMEOUT', 'stopped before switching');
}

/** Thrown when the interfaces an attempt works on were deleted under it (`wg-quick down`). */
export function goneAway(): PqpskError {
  return new PqpskError('NOT_FOUND', 'the interface was deleted during the attempt');
}

/**
 * `promise`, or the error `reason()` makes as soon as `signal` aborts. The abandoned work
 * runs on to its own end; `late` gets what it yields then (an exchange wipes its secrets).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, late: (value: T) => void, reason: () => PqpskError): Promise<T> {
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

/** Indices in verification order: entry (outer) first, then exit, as given otherwise. */
export function verifyOrder(hops: readonly HopState[]): number[] {
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
