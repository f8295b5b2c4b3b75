/**
 * One manager per interface: while a pqpsk negotiation or watcher acts on an interface it
 * holds a Unix socket bound to a name derived from the interface in the abstract
 * namespace. The kernel frees the name the moment the process dies, however it dies, so
 * a crash never leaves a stale lock; and the name is per network namespace, like the
 * interface itself. The socket also answers: whoever connects gets one JSON line from
 * the holder (its pid and, for a watcher, its status), which is how a second run names
 * the holder and how `pqpsk status` reads a running watcher.
 *
 * A holder on its way out (its interface was deleted, or it was told to stop) says so in
 * that line: `leaving`, and the kernel index of each interface it manages. A new run that
 * finds such a holder — `wg-quick down && wg-quick up` starts the next PostUp while the
 * last watcher is still letting go — waits for the name to come free instead of failing,
 * but only for a fixed time: a holder that never lets go, or a stranger that answers
 * "leaving" forever, costs a few seconds and then the usual refusal.
 */
import { createServer, connect, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PqpskError } from '../errors.js';

/** The abstract socket name for `iface` (a leading NUL byte puts it in the abstract namespace). */
export function lockName(iface: string, prefix = 'pqpsk'): string {
  return `\0${prefix}/${iface}`;
}

/** What a holder says about itself. */
export interface HolderInfo {
  readonly pid: number;
  /** `negotiate` (one-shot) or `watch`. */
  readonly mode: string;
  /** True once the holder is stopping and will let go of the lock. */
  readonly leaving?: boolean;
  /** The kernel's index of each interface it manages, when it was started. */
  readonly interfaces?: Readonly<Record<string, number>>;
  readonly [key: string]: unknown;
}

/** How a new run treats a holder on its way out. */
export interface YieldOptions {
  /** Whether `holder` of `iface`'s lock is on its way out, so the lock is worth waiting for. */
  readonly leaving: (holder: HolderInfo, iface: string) => boolean;
  /** The most a run waits, in all, for holders on their way out. */
  readonly waitMs: number;
}

/** How long a run waits for a previous manager on its way out (it stops within a second of its interface going). */
export const LEAVING_WAIT_MS = 5_000;

/** How often a waiting run tries the lock again. */
const RETRY_MS = 100;

/**
 * Whether `holder` is on its way out from `iface`: it says it is leaving, or it manages
 * another interface of that name (one deleted since, whose index `currentIndex` is not).
 * An index of 0 means "not known" and proves nothing.
 */
export function holderIsLeaving(holder: HolderInfo, iface: string, currentIndex: number): boolean {
  if (holder.leaving === true) return true;
  const held = holder.interfaces?.[iface];
  return typeof held === 'number' && held > 0 && currentIndex > 0 && held !== currentIndex;
}

/** Held locks; `release()` frees them (the kernel does it anyway when the process ends). */
export class InterfaceLock {
  readonly #servers: Server[];

  private constructor(servers: Server[]) {
    this.#servers = servers;
  }

  /**
   * Take the lock of every interface in `ifaces`, or none: SETUP error naming the holder
   * when one is held. `info` is asked on each connection. With `yieldTo`, a holder on its
   * way out is waited for, up to `yieldTo.waitMs` in all.
   */
  static async acquire(ifaces: readonly string[], info: () => HolderInfo, prefix?: string, yieldTo?: YieldOptions): Promise<InterfaceLock> {
    const servers: Server[] = [];
    const deadline = performance.now() + (yieldTo?.waitMs ?? 0);
    try {
      for (const iface of ifaces) servers.push(await listen(lockName(iface, prefix), info, iface, yieldTo, deadline));
    } catch (err) {
      for (const s of servers) s.close();
      throw err;
    }
    return new InterfaceLock(servers);
  }

  release(): void {
    for (const s of this.#servers) s.close();
  }
}

async function listen(name: string, info: () => HolderInfo, iface: string, yieldTo: YieldOptions | undefined, deadline: number): Promise<Server> {
  for (;;) {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(`${JSON.stringify(info())}\n`);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(name, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // The lock must not keep a one-shot run alive.
      server.unref();
      return server;
    } catch (err) {
      server.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new PqpskError('SETUP', `${iface}: cannot take the pqpsk lock (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const left = deadline - performance.now();
    const holder = await askHolder(iface, Math.max(RETRY_MS, Math.min(2_000, left)), name);
    const leaving = holder !== null && yieldTo !== undefined && yieldTo.leaving(holder, iface);
    if (leaving && deadline - performance.now() > 0) {
      await sleep(RETRY_MS);
      continue;
    }
    const who = holder === null ? 'another pqpsk process' : `pqpsk pid ${holder.pid} (${holder.mode === 'watch' ? 'negotiate --watch' : 'negotiate'})`;
    const still = leaving ? `, which is stopping but did not let go within ${Math.round((yieldTo?.waitMs ?? 0) / 1000)} s` : '';
    throw new PqpskError('SETUP', `${iface} is managed by ${who}${still}; not touching it`);
  }
}

/** Ask the holder of `iface`'s lock about itself; null when nobody holds it or it does not answer. */
export function askHolder(iface: string, timeoutMs = 2_000, name = lockName(iface)): Promise<HolderInfo | null> {
  return new Promise((resolve) => {
    const socket = connect(name);
    let text = '';
    const done = (value: HolderInfo | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 64 * 1024) done(null);
    });
    socket.on('end', () => {
      try {
        const parsed = JSON.parse(text) as HolderInfo;
        done(typeof parsed.pid === 'number' ? parsed : null);
      } catch {
        done(null);
      }
    });
    socket.on('error', () => done(null));
  });
}
