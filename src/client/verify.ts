/**
 * Showing that a tunnel works after a key change: make it
 * handshake, wait until the relay peer's latest handshake is newer than the change, then
 * connect to the config service through it. Used after a switch and after a rollback.
 */
import { PqpskError } from '../errors.js';
import type { WgControl } from '../wg/types.js';

/**
 * How the client touches the network through a tunnel. The real one (probe.ts) sends a
 * UDP datagram and opens a TCP connection; unit tests inject a simulation.
 */
export interface TunnelProbe {
  /** Send one packet toward `service` (`ip:port`) so WireGuard starts a handshake. */
  poke(service: string): Promise<void>;
  /** Resolve once a TCP connection to `service` is established (then close it); reject otherwise. */
  connect(service: string, timeoutMs: number): Promise<void>;
}

/** Time and waiting, injectable for tests. */
export interface Clock {
  /** Wall time, ms since the epoch: what WireGuard's handshake times are compared with. */
  now(): number;
  /**
   * Time that only moves forward, ms from an arbitrary origin: what deadlines are measured
   * on, so a step of the system clock (NTP at boot, an operator's `date -s`) can neither
   * stretch a wait nor cut it short.
   */
  monotonic(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** Which tunnel to check and what counts as "after the change". */
export interface VerifyTarget {
  readonly iface: string;
  readonly peer: string;
  readonly service: string;
  /** The peer's latest handshake (unix seconds) read just before the change. */
  readonly baselineHandshake: number;
  /** When the change was made (ms since the epoch). */
  readonly changedAtMs: number;
}

/** How to look (WireGuard state, the network) and for how long. */
export interface VerifyOptions {
  readonly wg: WgControl;
  readonly probe: TunnelProbe;
  readonly clock?: Clock;
  readonly timeoutMs: number;
}

/** How often we look at the handshake and re-send a triggering packet. */
const POLL_MS = 50;
const POKE_EVERY_MS = 1_000;
/**
 * The first TCP try; the relay moves its allowed-ips ~250 ms after the handshake, so a
 * SYN sent before that is lost. Tries start short and double (a far relay has a long RTT).
 */
const FIRST_CONNECT_TRY_MS = 250;

/** The timings of a successful verification, in ms. */
export interface VerifyResult {
  readonly handshakeMs: number;
  readonly connectMs: number;
}

/**
 * Wait for a handshake newer than the change, then a TCP connect to the config service,
 * both within `timeoutMs`. Throws VERIFY_FAILED naming what did not happen.
 */
export async function verifyTunnel(target: VerifyTarget, options: VerifyOptions): Promise<VerifyResult> {
  const clock = options.clock ?? systemClock;
  const start = clock.monotonic();
  const deadline = start + options.timeoutMs;
  const changedSec = Math.floor(target.changedAtMs / 1000);
  const isNew = (h: number): boolean => h > target.baselineHandshake && h >= changedSec;

  let lastPoke = Number.NEGATIVE_INFINITY;
  for (;;) {
    if (clock.monotonic() - lastPoke >= POKE_EVERY_MS) {
      lastPoke = clock.monotonic();
      await options.probe.poke(target.service).catch(() => undefined);
    }
    const handshakes = await options.wg.latestHandshakes(target.iface);
    if (isNew(handshakes.get(target.peer) ?? 0)) break;
    if (clock.monotonic() >= deadline) {
      throw new PqpskError('VERIFY_FAILED', `${target.iface}: no handshake with the relay within ${options.timeoutMs} ms of the key change`);
    }
    await clock.sleep(Math.min(POLL_MS, deadline - clock.monotonic()));
  }
  const handshakeAt = clock.monotonic();

  let lastReason = 'no attempt';
  for (let tryMs = FIRST_CONNECT_TRY_MS; ; tryMs *= 2) {
    const left = deadline - clock.monotonic();
    if (left <= 0) break;
    const tryStart = clock.monotonic();
    try {
      await options.probe.connect(target.service, Math.min(tryMs, left));
      return { handshakeMs: handshakeAt - start, connectMs: clock.monotonic() - handshakeAt };
    } catch (err) {
      lastReason = err instanceof PqpskError ? err.message : 'connection failed';
    }
    const spent = clock.monotonic() - tryStart;
    if (spent < 100) await clock.sleep(Math.min(100 - spent, Math.max(0, deadline - clock.monotonic())));
  }
  throw new PqpskError(
    'VERIFY_FAILED',
    `${target.iface}: config service ${target.service} did not answer through the new session within ${options.timeoutMs} ms (${lastReason})`,
  );
}
