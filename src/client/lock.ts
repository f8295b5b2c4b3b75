/**
 * One manager per interface: while a pqpsk negotiation or watcher acts on an interface it
 * holds a Unix socket bound to a path derived from the interface, in a lock directory
 * that only this user can enter (`lockDirectory`: `/run/pqpsk` for root, mode 0700). The
 * socket also answers: whoever connects gets one JSON line from the holder (its pid and,
 * for a watcher, its status), which is how a second run names the holder and how
 * `pqpsk status` reads a running watcher.
 *
 * Why a path in a private directory and not a name in the abstract namespace: an abstract
 * name has no permissions, so any local user could bind it first and every run would
 * refuse the interface (and under wg-quick's PostUp, wg-quick would then delete it), or
 * answer `pqpsk status` with whatever it liked. Nobody but the directory's owner can bind,
 * connect to, or remove a socket in a 0700 directory. The cost: a socket file outlives a
 * process that dies without closing it. Such a file is stale (connecting to it is refused)
 * and the next run removes it and binds afresh.
 *
 * A path is the same in every network namespace, while an interface name is not: the
 * socket's name carries the namespace's identity (the inode of /proc/self/ns/net) beside
 * the interface name, so `wg0` in two namespaces (test beds) are two locks.
 *
 * A holder on its way out (its interface was deleted, or it was told to stop) says so in
 * its line: `leaving`, and the kernel index of each interface it manages. A new run that
 * finds such a holder — `wg-quick down && wg-quick up` starts the next PostUp while the
 * last watcher is still letting go — waits for the lock to come free instead of failing,
 * but only for a fixed time: a holder that never lets go costs a few seconds and then the
 * usual refusal.
 *
 * The socket is still a door to keep narrow (any root process, or a pqpsk of another
 * version, may connect): a few connections at a time (more are closed at once), each destroyed once its line is
 * written or after a second, whichever comes first; and what a holder says is checked
 * field by field (./holder-reply.ts).
 */
import { createServer, connect, type Server } from 'node:net';
import { statSync } from 'node:fs';
import { link, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PqpskError } from '../errors.js';
import { untrustedBecause } from '../fs-checks.js';
import { MAX_REPLY_BYTES, parseHolderReply, type HolderReply } from './holder-reply.js';

/**
 * Where the lock sockets live. Every process that may manage an interface must pick the
 * same directory, whoever started it: a watcher under systemd and a one-shot run typed
 * by hand. So it is a fixed path and not systemd's $RUNTIME_DIRECTORY (the FIFO channel's
 * base may follow that; the lock may not): `/run/pqpsk` for root, which the shipped
 * client units list as their RuntimeDirectory= (kept across stops with
 * RuntimeDirectoryPreserve=yes, so that one unit stopping never removes another's lock).
 * Another user gets `/tmp/pqpsk-<uid>`: a fixed path again, since the detached
 * watcher of `--background` keeps no $XDG_RUNTIME_DIR or $TMPDIR; there, unlike under
 * /run, another user can make that directory first, and the run then refuses it (a
 * set-up error naming it), never uses it. `$PQPSK_RUNTIME_DIR` (a test's own runtime
 * directory, kept by the detached watcher) overrides all of them.
 */
export function lockDirectory(): string {
  const configured = process.env['PQPSK_RUNTIME_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  const uid = process.getuid?.();
  return uid === 0 ? '/run/pqpsk' : `/tmp/pqpsk-${uid ?? 'user'}`;
}

/** The identity of this process's network namespace: the inode of its namespace file. */
function networkNamespace(): string {
  try {
    return String(statSync('/proc/self/ns/net').ino);
  } catch (err) {
    throw new PqpskError('SETUP', `cannot tell this process's network namespace (/proc/self/ns/net: ${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The longest path a Unix socket can be bound to on Linux (sun_path less its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** The lock socket's path for `iface` in this network namespace, under `dir` (another `ending`: a file kept beside it). */
export function lockPath(iface: string, dir = lockDirectory(), ending = 'lock'): string {
  // encodeURIComponent keeps a `/` in a name from reaching the path as a separator.
  const path = join(dir, `${networkNamespace()}-${encodeURIComponent(iface)}.${ending}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new PqpskError('SETUP', `lock directory ${dir}: too long a path for a socket (${path} is over ${MAX_SOCKET_PATH} bytes)`);
  }
  return path;
}

/** Why `dir` is not fit to hold locks, or null when it is: a real directory, ours, mode 0700 or narrower. */
async function unfitDirectory(dir: string): Promise<string | null> {
  return untrustedBecause(await lstat(dir), { kind: 'directory', private: true, hints: { writable: 'it must be 0700' } });
}

/** Whether `dir` exists and is fit to hold locks: what is in it was put there by this user. */
export async function lockDirectoryIsOurs(dir: string): Promise<boolean> {
  try {
    return (await unfitDirectory(dir)) === null;
  } catch {
    return false;
  }
}

/** Makes `dir` (0700) if missing and checks it: a SETUP error naming it when it is not fit. */
export async function openLockDirectory(dir = lockDirectory()): Promise<void> {
  let why: string | null;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    why = await unfitDirectory(dir);
  } catch (err) {
    throw refused(dir, err, 'cannot create or read it');
  }
  if (why !== null) throw new PqpskError('SETUP', `lock directory ${dir}: ${why}`);
}

/** The SETUP error for a file-system refusal `err` in the lock directory `dir`; a read-only one says what a unit needs. */
function refused(dir: string, err: unknown, what: string): PqpskError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const why = code === 'EROFS' ? 'read-only file system (under systemd, give the unit RuntimeDirectory=pqpsk)' : what;
  return new PqpskError('SETUP', `lock directory ${dir}: ${why} (${code})`);
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

/** Held locks; `release()` frees them (a process that dies holding one leaves a stale file, which the next run replaces). */
export class InterfaceLock {
  readonly #servers: Server[];

  private constructor(servers: Server[]) {
    this.#servers = servers;
  }

  /**
   * Take the lock of every interface in `ifaces`, or none: SETUP error naming the holder
   * when one is held. `info` is asked on each connection. With `yieldTo`, a holder on its
   * way out is waited for, up to `yieldTo.waitMs` in all. `dir` is the lock directory.
   */
  static async acquire(ifaces: readonly string[], info: () => HolderInfo, dir = lockDirectory(), yieldTo?: YieldOptions): Promise<InterfaceLock> {
    await openLockDirectory(dir);
    const servers: Server[] = [];
    const deadline = performance.now() + (yieldTo?.waitMs ?? 0);
    try {
      for (const iface of ifaces) servers.push(await listen(lockPath(iface, dir), info, iface, yieldTo, deadline));
    } catch (err) {
      for (const s of servers) s.close();
      throw err;
    }
    return new InterfaceLock(servers);
  }

  /** Closing a socket bound to a path also removes the path (libuv unlinks it before closing). */
  release(): void {
    for (const s of this.#servers) s.close();
  }
}

/** How many stale files one run replaces before it gives up (each is a process that died holding the lock). */
const MAX_STALE = 5;

async function listen(path: string, info: () => HolderInfo, iface: string, yieldTo: YieldOptions | undefined, deadline: number): Promise<Server> {
  for (let stale = 0; ; ) {
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
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // The lock must not keep a one-shot run alive.
      server.unref();
      return server;
    } catch (err) {
      server.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw refused(dirname(path), err, `cannot take ${iface}'s lock ${basename(path)}`);
    }
    // Something is at the path: a live holder, or the file of one that died.
    const inode = await inodeOf(path);
    if (inode === null) continue;
    const left = deadline - performance.now();
    const holder = await askHolder(iface, Math.max(RETRY_MS, Math.min(2_000, left)), path);
    if (holder === null) {
      if (++stale > MAX_STALE) throw new PqpskError('SETUP', `${iface}: the pqpsk lock ${path} kept coming back stale; not touching the interface`);
      await removeStale(path, inode);
      continue;
    }
    const known = holder === 'untrusted' ? null : holder;
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

/** The inode at `path` (not followed), or null when nothing is there. */
async function inodeOf(path: string): Promise<number | null> {
  try {
    return (await lstat(path)).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Removes the stale socket file at `path` — only if it is still the file found stale
 * (`inode`). Two runs that found the same stale file could otherwise each remove it, the
 * second removing the first one's fresh lock. So the file is first renamed to a name of
 * this run's own, and looked at there: the stale one is deleted; a fresh lock that got
 * there in between is linked back to its path before anything else can bind it (only
 * root processes reach this directory, and only when starting on the same interface at
 * the same moment).
 */
async function removeStale(path: string, inode: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw refused(dirname(path), err, `cannot remove the stale lock ${basename(path)}`);
  }
  if ((await inodeOf(aside)) !== inode) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Ask the holder of `iface`'s lock about itself: null when nobody holds it (no socket, or
 * a stale one); 'untrusted' when something holds it but gives no well-formed reply in
 * time (or too long a one), or when the lock directory is not ours alone, so that
 * whatever answers there could be anyone.
 */
export async function askHolder(iface: string, timeoutMs = 2_000, path = lockPath(iface)): Promise<HolderAnswer> {
  try {
    if ((await unfitDirectory(dirname(path))) !== null) return 'untrusted';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'untrusted';
  }
  return new Promise((resolve) => {
    const socket = connect(path);
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
    // Nobody bound the path (or only a dead socket file): no holder. Anything else is someone there.
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? null : 'untrusted'));
  });
}
