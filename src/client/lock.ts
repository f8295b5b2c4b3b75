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
 *
 * Any local user can connect, so the socket is a door to keep narrow: a few connections
 * at a time (more are closed at once), each destroyed once its line is written or after
 * a second, whichever comes first — a flood of connections that never read costs the
 * holder a few descriptors, not all of them. And since any local user can also answer
 * on a free name, what a holder says is checked field by field (./holder-reply.ts).
 */
import { createServer, connect, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PqpskError } from '../errors.js';
import { MAX_REPLY_BYTES, parseHolderReply, type HolderReply } from './holder-reply.js';

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
  readonly leaving: (holder: HolderReply, iface: string) => boolean;
  /** The most a run waits, in all, for holders on their way out. */
  readonly waitMs: number;
}

/** How long a run waits for a previous manager on its way out (it stops within a second of its interface going). */
export const LEAVING_WAIT_MS = 5_000;

/** How often a waiting run tries the lock again. */
const RETRY_MS = 100;

/** Connections the lock socket serves at once; more are closed as they arrive. */
export const MAX_LOCK_CONNECTIONS = 4;

/** The longest a connection to the lock socket stays open. */
export const LOCK_CONNECTION_MS = 1_000;

/** What asking the lock's holder found: nobody, a well-formed reply, or an answer not worth believing. */
export type HolderAnswer = HolderReply | null | 'untrusted';

/**
 * Whether `holder` is on its way out from `iface`: it says it is leaving, or it manages
 * another interface of that name (one deleted since, whose index `currentIndex` is not).
 * An index of 0 means "not known" and proves nothing.
 */
export function holderIsLeaving(holder: Pick<HolderInfo, 'leaving' | 'interfaces'>, iface: string, currentIndex: number): boolean {
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
      const timer = setTimeout(() => socket.destroy(), LOCK_CONNECTION_MS).unref();
      socket.on('close', () => clearTimeout(timer));
      socket.end(`${JSON.stringify(info())}\n`, () => socket.destroy());
    });
    server.maxConnections = MAX_LOCK_CONNECTIONS;
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
    const known = holder === null || holder === 'untrusted' ? null : holder;
    const leaving = known !== null && yieldTo !== undefined && yieldTo.leaving(known, iface);
    if (leaving && deadline - performance.now() > 0) {
      await sleep(RETRY_MS);
      continue;
    }
    const who = known === null ? 'another pqpsk process' : `pqpsk pid ${known.pid} (${known.mode === 'watch' ? 'negotiate --watch' : 'negotiate'})`;
    const still = leaving ? `, which is stopping but did not let go within ${Math.round((yieldTo?.waitMs ?? 0) / 1000)} s` : '';
    throw new PqpskError('SETUP', `${iface} is managed by ${who}${still}; not touching it`);
  }
}

/**
 * Ask the holder of `iface`'s lock about itself: null when nobody holds it; 'untrusted'
 * when something holds it but gives no well-formed reply in time (or too long a one).
 */
export function askHolder(iface: string, timeoutMs = 2_000, name = lockName(iface)): Promise<HolderAnswer> {
  return new Promise((resolve) => {
    const socket = connect(name);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (value: HolderAnswer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done('untrusted'), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) done('untrusted');
      else chunks.push(chunk);
    });
    socket.on('end', () => done(parseHolderReply(Buffer.concat(chunks).toString('utf8')) ?? 'untrusted'));
    // Nobody bound the name (or only a dead socket file): no holder. Anything else is someone there.
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? null : 'untrusted'));
  });
}
