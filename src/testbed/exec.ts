/**
 * Running things inside a network namespace: one-shot commands (`runIn`) and long-running
 * processes (`spawnIn`, e.g. `pqpsk server` in the relay namespace). Both go through
 * `ip netns exec`, which execs the program itself, so the pid we hold is the program's.
 * Never used to run `wg` with secrets: that is src/wg/'s job.
 */
import type { Readable } from 'node:stream';
import { execa, execaSync } from 'execa';
import { PqpskError } from '../errors.js';

/** What a finished command did. Output is text; nothing is thrown for a non-zero exit. */
export interface RunResult {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for a one-shot command. */
export interface RunOptions {
  /** Bytes or text for the command's stdin (default: none). */
  readonly input?: string | Uint8Array;
  /** Kill the command after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Extra environment variables (the rest is inherited). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs `argv` inside namespace `ns` and returns its result, whatever the exit code. */
export async function runIn(ns: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], options);
}

/** Runs `argv` in the current (root) namespace; used for `ip` set-up commands only. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new PqpskError('INTERNAL', 'run: empty argv');
  const r = await execa(file, args, {
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 30_000,
    forceKillAfterDelay: 1000,
    env: { LC_ALL: 'C', ...options.env },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.exitCode === undefined && typeof r.code === 'string') {
    throw new PqpskError('SETUP', `could not start \`${file}\` (${r.code}): is it installed and on PATH?`);
  }
  return {
    command: argv.join(' '),
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
    signal: typeof r.signal === 'string' ? r.signal : null,
    timedOut: r.timedOut === true,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
  };
}

/** `run`, but a failure is a SETUP error quoting the command and its stderr (set-up commands carry no secrets). */
export async function mustRun(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, options);
  if (r.exitCode !== 0) {
    const why = r.timedOut ? 'timed out' : r.signal !== null ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    throw new PqpskError('SETUP', `test bed: \`${r.command}\` failed (${why}): ${r.stderr.trim() || '(no message)'}`);
  }
  return r;
}

/** Best-effort synchronous run for exit-time cleanup; never throws. */
export function runSyncQuiet(argv: readonly string[]): void {
  const [file, ...args] = argv;
  if (file === undefined) return;
  try {
    execaSync(file, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', timeout: 5000 });
  } catch {
    // exit-time cleanup: nothing more can be done
  }
}

/** Options for a long-running process. */
export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Keep at most this many characters of each of stdout and stderr (default 1 MiB). */
  readonly keepChars?: number;
}

/** How a spawned process ended. */
export interface ProcessExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/**
 * A long-running process inside a namespace. Its output is collected (bounded) so tests
 * can wait for a line; it is stopped by pid, and the bed that spawned it stops it at
 * teardown if the caller has not.
 */
export class BedProcess {
  readonly pid: number;
  readonly command: string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | null = null;
  private out = '';
  private err = '';
  private readonly waiters = new Set<() => void>();

  /** @internal use spawnIn */
  constructor(argv: readonly string[], options: SpawnOptions = {}) {
    const [file, ...args] = argv;
    if (file === undefined) throw new PqpskError('INTERNAL', 'spawn: empty argv');
    this.command = argv.join(' ');
    const keep = options.keepChars ?? 1024 * 1024;
    const child = execa(file, args, {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...options.env },
      cleanup: true,
    });
    if (child.pid === undefined) {
      // Spawning failed synchronously (e.g. ENOENT); the promise below reports it.
      this.pid = -1;
    } else {
      this.pid = child.pid;
    }
    const collect = (stream: Readable | null, which: 'out' | 'err'): void => {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        if (which === 'out') this.out = (this.out + chunk).slice(-keep);
        else this.err = (this.err + chunk).slice(-keep);
        this.wake();
      });
    };
    collect(child.stdout, 'out');
    collect(child.stderr, 'err');
    this.exited = child.then((r) => {
      this.exit = {
        exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
        signal: typeof r.signal === 'string' ? r.signal : null,
      };
      if (r.exitCode === undefined && typeof r.code === 'string') {
        this.err += `\ncould not start \`${file}\` (${r.code})`;
      }
      this.wake();
      return this.exit;
    });
  }

  /** Whether the process has exited. */
  get running(): boolean {
    return this.exit === null;
  }

  /** Everything kept of stdout and stderr so far. */
  output(): { stdout: string; stderr: string } {
    return { stdout: this.out, stderr: this.err };
  }

  /**
   * Resolves with the first match of `pattern` in stdout or stderr; rejects (TIMEOUT) after
   * `timeoutMs`, or (SETUP) when the process exits first.
   */
  waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const m = pattern.exec(this.out) ?? pattern.exec(this.err);
        if (m !== null) {
          done();
          resolve(m);
        } else if (this.exit !== null) {
          done();
          reject(new PqpskError('SETUP', `\`${this.command}\` exited (${describeExit(this.exit)}) before printing ${String(pattern)}`));
        }
      };
      const done = (): void => {
        this.waiters.delete(check);
        if (timer !== undefined) clearTimeout(timer);
      };
      timer = setTimeout(() => {
        done();
        reject(new PqpskError('TIMEOUT', `\`${this.command}\` did not print ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `signal` by pid, waits up to `graceMs`, then SIGKILL. Idempotent. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<ProcessExit> {
    if (this.exit !== null || this.pid < 0) return this.exited;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Exit-time path: SIGKILL now, synchronously. */
  killNow(): void {
    if (this.exit === null) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exit !== null || this.pid < 0) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone (ESRCH)
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Starts `argv` inside namespace `ns` as a long-running process. Prefer Bed.spawnIn, which also stops it at teardown. */
export function spawnIn(ns: string, argv: readonly string[], options: SpawnOptions = {}): BedProcess {
  return new BedProcess(['ip', 'netns', 'exec', ns, ...argv], options);
}

function describeExit(e: ProcessExit): string {
  return e.signal !== null ? `signal ${e.signal}` : `exit code ${e.exitCode}`;
}
