/**
 * WgSpawner: a Launcher that starts commands from a small helper process
 * (spawner-child.ts) instead of from this one. Creating a process forks the caller, and a
 * fork copies the caller's page tables while its event loop waits: measured here, about
 * 3 ms for a 60 MB Node process and 30 ms for a 450 MB one, per `wg` command. A relay runs
 * several `wg` commands a second, so it forks the ~40 MB helper instead and only waits for
 * the answer. Output comes back over the IPC channel; it never carries a secret, because
 * secrets go to `wg` through FIFOs this process feeds (secret-channel.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { environmentWith, MAX_OUTPUT_BYTES, type Launch, type Launcher, type LaunchOptions, type LaunchResult } from './launcher.js';
import { errorCode } from './program.js';
import type { SpawnerReply, SpawnerRequest } from './spawner-child.js';

const CHILD = new URL('./spawner-child.js', import.meta.url);

export class WgSpawner implements Launcher {
  #child: ChildProcess | undefined;
  readonly #pending = new Map<number, (result: LaunchResult) => void>();
  #nextId = 1;
  #closed = false;
  /** Why the last helper could not start (EMFILE, EAGAIN…), for the commands it took with it. */
  #startFailure: string | undefined;

  launch(file: string, args: readonly string[], options: LaunchOptions): Launch {
    if (this.#closed) return { done: Promise.resolve(failedLaunch('ESPAWNERCLOSED')), kill: () => undefined };
    let child: ChildProcess;
    try {
      child = this.#helper();
    } catch (err) {
      // Node throws, rather than emits, the start failures it does not expect at run time.
      return { done: Promise.resolve(failedLaunch(errorCode(err))), kill: () => undefined };
    }
    const id = this.#nextId++;
    const done = new Promise<LaunchResult>((resolve) => this.#pending.set(id, resolve));
    this.#send(child, { id, file, args: [...args], env: environmentWith(options.env), timeoutMs: options.timeoutMs, maxBytes: MAX_OUTPUT_BYTES });
    this.#refWhileBusy(child);
    return { done, kill: () => this.#send(child, { id, kill: true }) };
  }

  /** The helper's pid while it runs (it starts on first use). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Stop the helper (it kills what it still runs); later launches fail as not started. */
  close(): void {
    this.#closed = true;
    // A helper that never started has no channel to disconnect.
    if (this.#child?.connected === true) this.#child.disconnect();
    this.#child = undefined;
    this.#failAll('ESPAWNERCLOSED');
  }

  /** The running helper, started on first use and again after it died. */
  #helper(): ChildProcess {
    if (this.#child !== undefined && this.#child.connected) return this.#child;
    // No inherited execArgv: the helper needs none of this process's flags (--input-type, --cpu-prof…).
    const child = fork(CHILD, [], { execArgv: [], detached: true, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.on('message', (reply: SpawnerReply) => {
      this.#settle(reply.id, {
        stdout: new Uint8Array(reply.stdout.buffer, reply.stdout.byteOffset, reply.stdout.byteLength),
        stderr: new Uint8Array(reply.stderr.buffer, reply.stderr.byteOffset, reply.stderr.byteLength),
        exitCode: reply.exitCode,
        signal: reply.signal,
        timedOut: reply.timedOut,
        spawnCode: reply.spawnCode,
      });
      this.#refWhileBusy(child);
    });
    // A helper that dies takes its commands' answers with it: they fail, the next launch
    // starts a new one. Its commands would outlive it (a `wg set` blocked on a FIFO that is
    // about to be removed would wait forever), so its whole process group is killed: the
    // helper leads a group of its own, and every command it starts is in it.
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
      if (child.pid !== undefined) killQuietly(-child.pid);
      this.#failAll('ESPAWNERDIED');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) this.#startFailure = errorCode(err);
    });
    this.#startFailure = undefined;
    this.#child = child;
    return child;
  }

  /** A command the helper cannot be told about fails as not started (a kill for it is moot). */
  #send(child: ChildProcess, request: SpawnerRequest): void {
    const lost = (): void => {
      if ('file' in request) this.#settle(request.id, failedLaunch(this.#startFailure ?? 'ESPAWNERDIED'));
    };
    // A helper that could not start says why on its 'error' event, a tick later.
    if (!child.connected) return void setImmediate(lost);
    child.send(request, (err) => {
      if (err !== null) lost();
    });
  }

  #settle(id: number, result: LaunchResult): void {
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    resolve?.(result);
  }

  #failAll(code: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, failedLaunch(code));
  }

  /** The helper keeps this process alive only while it runs something for it. */
  #refWhileBusy(child: ChildProcess): void {
    if (this.#pending.size > 0) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

/** The result of a command the helper never ran (closed, or died first). */
function failedLaunch(spawnCode: string): LaunchResult {
  return { stdout: new Uint8Array(0), stderr: new Uint8Array(0), exitCode: null, signal: null, timedOut: false, spawnCode };
}

/** SIGKILL to a pid (or, negative, a process group) that may be gone already. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
