/**
 * The secret channel: how a private key or PSK reaches `wg` without touching argv, the
 * environment, a shell string or a file on disk.
 *
 * Why a FIFO. `wg set … private-key PATH` fopen()s PATH and reads it to EOF. Node gives
 * a child socketpairs, not pipes, for its stdio, so `PATH=/dev/stdin` fails with ENXIO
 * ("fopen: No such device or address"), and Node has no call to make an anonymous pipe.
 * A named pipe (FIFO) is a real pipe: its bytes live in a kernel buffer and are never
 * written to the file system; only the name is on disk.
 *
 * How it is made safe:
 * - the FIFOs live in a private directory (mode 0700, owner only) made once per process
 *   under a runtime directory owned by this user (`runtimeBase`), one numbered subdirectory per
 *   `wg set` holding one FIFO per secret (mode 0600), removed as soon as `wg` has exited;
 * - the writer opens the FIFO for writing in libuv's thread pool, where the open waits
 *   until `wg` opens it to read, so the key goes over the moment `wg` asks for it (the
 *   runner feeds a command's FIFOs in the order `wg` reads them: one waiting open per
 *   command). When `wg` exits without opening it (bad arguments, missing interface), the
 *   writer opens the FIFO to read itself, which ends the waiting open: nothing hangs;
 * - a key is 45 bytes (base64 + newline), far below PIPE_BUF, so one write (through a
 *   non-blocking descriptor) is atomic and cannot block; the writer then closes, which
 *   gives `wg` its EOF;
 * - the text form of the key is built as bytes and wiped after the write (best effort:
 *   Node may have copied the buffer internally).
 * Another local root process could open the FIFO first; that is outside the threat model
 * (root can read the process's memory anyway).
 */
import { closeSync, constants, open as openFd, openSync, rmSync, writeSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PqpskError } from '../errors.js';
import { checkTrusted } from '../fs-checks.js';
import type { Launcher } from './launcher.js';

/**
 * Where FIFO directories live: `$PQPSK_RUNTIME_DIR` when set (tests give each run its
 * own); else `$RUNTIME_DIRECTORY`, which systemd sets for a unit with `RuntimeDirectory=`
 * (under `ProtectSystem=strict` the rest of /run is read-only); else `/run/pqpsk` for
 * root — a root-owned runtime directory, never a shared, world-writable temporary one —
 * else the temporary directory. Whichever it is passes the same ownership and mode checks.
 */
export function runtimeBase(): string {
  const configured = process.env['PQPSK_RUNTIME_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  // systemd joins several directories with ':' when a unit names more than one.
  const systemd = process.env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (systemd !== undefined && systemd.startsWith('/')) return systemd;
  return process.getuid?.() === 0 ? '/run/pqpsk' : tmpdir();
}

let processDir: Promise<string> | undefined;
let nextSlot = 0;

/**
 * This process's private 0700 directory under the runtime base, made once and reused by
 * every `wg set` (each gets its own numbered subdirectory), removed when the process exits.
 * A file-system refusal (read-only, no permission) is a set-up error that names the
 * directory, so an operator can tell which path a sandbox must leave writable.
 */
function ownDirectory(): Promise<string> {
  processDir ??= (async () => {
    const base = runtimeBase();
    await onDisk(base, () => mkdir(base, { recursive: true, mode: 0o700 }));
    const st = await onDisk(base, () => lstat(base));
    const uid = process.getuid?.();
    // The system's temporary directory (a user other than root, with no runtime directory
    // of its own) is root's and shared, but sticky: nobody can rename or remove the 0700
    // directory made in it below, which is the one the FIFOs live in.
    const shared = base === tmpdir() ? { rootMayOwn: true, stickyMayShare: true } : {};
    checkTrusted(`runtime directory ${base}`, st, { kind: 'directory', uid, ...shared });
    await removeDeadDirectories(base, uid);
    const dir = await onDisk(base, () => mkdtemp(join(base, `pqpsk-${process.pid}-`)));
    await onDisk(dir, () => chmod(dir, 0o700));
    process.once('exit', () => {
      releaseWaitingWriters();
      rmSync(dir, { recursive: true, force: true });
    });
    return dir;
  })();
  processDir.catch(() => (processDir = undefined));
  return processDir;
}

/** Runs one file-system step on `path`, turning its errno into a SETUP error naming `path`. */
async function onDisk<T>(path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const hint =
      code === 'EROFS'
        ? 'read-only file system (under systemd, give the unit RuntimeDirectory= or list the directory in ReadWritePaths=)'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : 'cannot create';
    throw new PqpskError('SETUP', `runtime directory ${path}: ${hint} (${code})`);
  }
}

/** What this process names its own directory: `pqpsk-<pid>-<six characters from mkdtemp>`. */
const OWN_DIRECTORY = /^pqpsk-([1-9][0-9]{0,9})-[A-Za-z0-9]{6}$/;

/**
 * Removes the FIFO directories that processes which died without their exit handler
 * (SIGKILL, a crash) left under `base`. Only ours: the name pattern above, a real
 * directory owned by this user, and a pid that no longer exists — a live pid (even one
 * reused by another program) keeps its directory. Best effort: a failure is not an error.
 */
async function removeDeadDirectories(base: string, uid: number | undefined): Promise<void> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = OWN_DIRECTORY.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    const path = join(base, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A private directory for one invocation's FIFOs. */
export class SecretChannel {
  private constructor(readonly dir: string) {}

  /** Creates this invocation's directory; FIFOs are added by `makeFifos`. */
  static async open(): Promise<SecretChannel> {
    const dir = join(await ownDirectory(), String(nextSlot++));
    await onDisk(dir, () => mkdir(dir, { mode: 0o700 }));
    return new SecretChannel(dir);
  }

  /** Creates the FIFOs (mode 0600). `mkfifo` is run because Node cannot mkfifo(3). */
  async makeFifos(paths: readonly string[], launcher: Launcher): Promise<void> {
    if (paths.length === 0) return;
    const r = await launcher.launch('mkfifo', ['-m', '600', '--', ...paths], { timeoutMs: 5000, env: {} }).done;
    if (r.spawnCode !== null || r.timedOut || r.exitCode !== 0) {
      const reason = r.spawnCode === 'ENOENT' ? 'the `mkfifo` program was not found on PATH' : 'could not create the secret-channel FIFO';
      throw new PqpskError('SETUP', reason);
    }
  }

  /**
   * Writes `text` into the FIFO once a reader opens it, then closes it. Resolves to
   * 'delivered', or 'abandoned' when the reader exited (`readerExited`, `readerGone()`)
   * before it took the key. Wipes `text` in every case.
   */
  async feed(path: string, text: Uint8Array, readerGone: () => boolean, killReader: () => void, readerExited: Promise<unknown> = NEVER): Promise<'delivered' | 'abandoned'> {
    try {
      if (readerGone()) return 'abandoned';
      // A blocking open returns the moment the reader opens the FIFO: no polling, no back-off.
      const waiting = openForWriting(path);
      const first = await Promise.race([waiting, readerExited.then(() => EXITED)]);
      if (typeof first !== 'number') {
        await releaseWriter(path, waiting);
        return 'abandoned';
      }
      return writeAndClose(path, first, text, killReader);
    } finally {
      text.fill(0);
    }
  }

  /** Removes the directory and its FIFOs; safe to call twice. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function channelError(): PqpskError {
  return new PqpskError('WG_FAILURE', 'could not write a key into the secret channel');
}

const NEVER: Promise<never> = new Promise<never>(() => undefined);

/** Tries of releaseWriter's reader open, 10 ms apart: descriptors free up within seconds. */
const RELEASE_TRIES = 1000;
const EXITED = Symbol('exited');

/**
 * Opens `path` for writing, blocking (in libuv's thread pool, never the event loop) until
 * a reader opens it. One at a time per command (the runner feeds in argv order), so one
 * pool thread waits at most; if the reader exits first, releaseWriter frees it.
 */
function openForWriting(path: string): Promise<number> {
  waitingWriters.add(path);
  return new Promise((resolve, reject) => {
    openFd(path, constants.O_WRONLY, (err, fd) => {
      waitingWriters.delete(path);
      if (err === null) resolve(fd);
      else reject(channelError());
    });
  });
}

/** FIFOs whose writer open is waiting in the thread pool for a reader. */
const waitingWriters = new Set<string>();

/**
 * At exit, ends every writer open still waiting for a reader: Node joins its thread pool
 * before the process ends, so an open left waiting (the `wg` meant to read was killed with
 * the process, or had not come yet) would keep the process from ever exiting. Opening the
 * read end and closing it at once is enough: Linux wakes a waiting writer when a reader
 * has come, even one gone again. The directory is removed right after, so no `wg` can
 * open the FIFO later, and the `wg` that was to read it dies with this process.
 */
function releaseWaitingWriters(): void {
  for (const path of waitingWriters) {
    try {
      closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      // Gone already: its open has failed, or will.
    }
  }
  waitingWriters.clear();
}

/**
 * The reader exited while our open waited for it: open the FIFO for reading ourselves, so
 * the waiting open returns (a FIFO's writer open completes once a reader has come), then
 * close both, having written nothing.
 */
async function releaseWriter(path: string, waiting: Promise<number>): Promise<void> {
  let reader: number | undefined;
  // Until the reader opens, or the FIFO is gone: one refused for want of descriptors
  // (EMFILE under a flood of connections) would leave the waiting open, and the `wg set`
  // with its lock, waiting for ever.
  for (let attempt = 0; reader === undefined; attempt++) {
    try {
      reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      // Gone already: the waiting open has failed, or will.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || attempt >= RELEASE_TRIES) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  try {
    closeSync(await waiting);
  } catch {
    // It failed instead: nothing was opened.
  } finally {
    if (reader !== undefined) closeSync(reader);
  }
}

/**
 * Writes the key through a non-blocking descriptor of the open FIFO (one write, below
 * PIPE_BUF: whole or not at all, and a full pipe fails rather than blocks), then closes,
 * which gives the reader its EOF. `blocking` (the descriptor the open waited on) is
 * closed first: the non-blocking one keeps the write end open meanwhile.
 */
function writeAndClose(path: string, blocking: number, text: Uint8Array, killReader: () => void): 'delivered' | 'abandoned' {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    // ENXIO: the reader left again (killed) before we wrote: nothing was written.
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return 'abandoned';
    killReader();
    throw channelError();
  } finally {
    closeSync(blocking);
  }
  try {
    if (writeSync(fd, text, 0, text.length) !== text.length) throw channelError();
    return 'delivered';
  } catch (err) {
    // EPIPE: the reader went away between open and write (e.g. `wg` was killed).
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 'abandoned';
    // Kill the reader BEFORE closing: closing first would hand `wg` an empty read,
    // which it takes as "no key" — an all-zero PSK set as if it had worked.
    killReader();
    throw err instanceof PqpskError ? err : channelError();
  } finally {
    closeSync(fd);
  }
}
