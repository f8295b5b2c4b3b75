/**
 * One manager per interface: while a pqpsk negotiation or watcher acts on an interface it
 * holds a Unix socket bound to a name derived from the interface in the abstract
 * namespace. The kernel frees the name the moment the process dies, however it dies, so
 * a crash never leaves a stale lock; and the name is per network namespace, like the
 * interface itself. The socket also answers: whoever connects gets one JSON line from
 * the holder (its pid and, for a watcher, its status), which is how a second run names
 * the holder and how `pqpsk status` reads a running watcher.
 */
import { createServer, connect, type Server } from 'node:net';
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
  readonly [key: string]: unknown;
}

/** Held locks; `release()` frees them (the kernel does it anyway when the process ends). */
export class InterfaceLock {
  readonly #servers: Server[];

  private constructor(servers: Server[]) {
    this.#servers = servers;
  }

  /**
   * Take the lock of every interface in `ifaces`, or none: SETUP error naming the holder
   * when one is held. `info` is asked on each connection.
   */
  static async acquire(ifaces: readonly string[], info: () => HolderInfo, prefix?: string): Promise<InterfaceLock> {
    const servers: Server[] = [];
    try {
      for (const iface of ifaces) servers.push(await listen(lockName(iface, prefix), info, iface));
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

async function listen(name: string, info: () => HolderInfo, iface: string): Promise<Server> {
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
  } catch (err) {
    server.close();
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new PqpskError('SETUP', `${iface}: cannot take the pqpsk lock (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const holder = await askHolder(iface, 2_000, name);
    const who = holder === null ? 'another pqpsk process' : `pqpsk pid ${holder.pid} (${holder.mode === 'watch' ? 'negotiate --watch' : 'negotiate'})`;
    throw new PqpskError('SETUP', `${iface} is managed by ${who}; not touching it`);
  }
  // The lock must not keep a one-shot run alive.
  server.unref();
  return server;
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
