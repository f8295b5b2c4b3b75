/**
 * Showing that a tunnel works after a key change: make it
 * handshake, wait until the relay peer's latest handshake is newer than the change, then
 * connect to the config service through it. Used after a switch and after a rollback.
 */
import { setMaxListeners } from 'node:events';
import { PqpskError } from '../errors.js';
import type { WgControl } from '../wg/types.js';

/**
 * How the client touches the network through a tunnel. The real one (probe.ts) sends a
 * UDP datagram and opens a TCP connection; unit tests inject a simulation.
 */
export interface TunnelProbe {
  /** Send one packet toward `service` (`ip:port`) so WireGuard starts a handshake. */
  poke(service: string): Promise<void>;
  /**
   * Resolve once a TCP connection to `service` is established (then close it); reject
   * otherwise, or as soon as `signal` aborts (another try got through).
   */
  connect(service: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
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

/**
 * How often we look at the handshake (one `wg show` each) and re-send a triggering
 * packet. The handshake itself takes a round trip; the look is what we wait on.
 */
const POLL_MS = 10;
const POKE_EVERY_MS = 1_000;
/**
 * TCP tries toward the config service overlap: a new one starts after each gap, and each
 * lives until one gets through or the window ends. The relay moves its allowed-ips to the
 * new key a pass of its poller after the handshake (tens of ms, more on a busy relay) and
 * drops a SYN that arrives before; the next try finds the route moved. The first
 * STEADY_TRIES come FIRST_CONNECT_GAP_MS apart, then the gaps double up to the last
 * gap, while a slow try (a far relay's long round trip) is still given its time.
 */
const FIRST_CONNECT_GAP_MS = 20;
const STEADY_TRIES = 10;
const LAST_CONNECT_GAP_MS = 1_000;

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

  const connected = await overlappingConnects(target.service, deadline, options.probe, clock);
  if (connected.ok) return { handshakeMs: handshakeAt - start, connectMs: clock.monotonic() - handshakeAt };
  const lastReason = connected.reason;
  throw new PqpskError(
    'VERIFY_FAILED',
    `${target.iface}: config service ${target.service} did not answer through the new session within ${options.timeoutMs} ms (${lastReason})`,
  );
}

/**
 * TCP tries toward `service` until `deadline` (monotonic), a new one after each gap (see
 * FIRST_CONNECT_GAP_MS), each open until one gets through; the rest are then called off.
 * At most STEADY_TRIES + 6 + the window ÷ LAST_CONNECT_GAP_MS tries.
 */
async function overlappingConnects(service: string, deadline: number, probe: TunnelProbe, clock: Clock): Promise<{ ok: true } | { ok: false; reason: string }> {
  const off = new AbortController();
  // One listener per open try (bounded above), not a leak.
  setMaxListeners(STEADY_TRIES + 6 + Math.ceil(Math.max(0, deadline - clock.monotonic()) / LAST_CONNECT_GAP_MS), off.signal);
  let through = false;
  let reason = 'no attempt';
  let signalThrough: () => void = () => undefined;
  const gotThrough = new Promise<void>((resolve) => (signalThrough = resolve));
  const tries: Promise<void>[] = [];
  try {
    for (let n = 1, gap = FIRST_CONNECT_GAP_MS; ; n++, gap = n <= STEADY_TRIES ? gap : Math.min(gap * 2, LAST_CONNECT_GAP_MS)) {
      const left = deadline - clock.monotonic();
      if (left <= 0) break;
      tries.push(
        probe.connect(service, left, off.signal).then(
          () => {
            through = true;
            signalThrough();
          },
          (err: unknown) => {
            if (!off.signal.aborted) reason = err instanceof PqpskError ? err.message : 'connection failed';
          },
        ),
      );
      await Promise.race([gotThrough, clock.sleep(Math.min(gap, Math.max(0, deadline - clock.monotonic())))]);
      if (through) return { ok: true };
    }
    // The window is over: a try still open may yet answer within its own timeout's end.
    await Promise.race([gotThrough, Promise.allSettled(tries)]);
    return through ? { ok: true } : { ok: false, reason };
  } finally {
    off.abort();
  }
}
