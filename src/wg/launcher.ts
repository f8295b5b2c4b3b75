/**
 * How the runner starts a program: the one seam between `wg` commands and process
 * creation. Two launchers: `inProcessLauncher` spawns from this process (execa), right for
 * short-lived commands; `WgSpawner` (spawner.ts) hands each command to a small helper
 * process, which a long-running relay uses so that creating a process never stalls its
 * event loop.
 */
import { execa } from 'execa';

/** What a finished program left: its output bytes and how it ended. */
export interface LaunchResult {
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** Null when it was killed or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** The spawn error code (ENOENT, EACCES) when the program could not start. */
  readonly spawnCode: string | null;
}

/** One started program. `done` never rejects: every failure is in the result. */
export interface Launch {
  readonly done: Promise<LaunchResult>;
  /** SIGKILL, e.g. when its secret channel broke. */
  kill(): void;
}

export interface LaunchOptions {
  /** SIGTERM after this long, SIGKILL a second later; the result says `timedOut`. */
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string>>;
}

export interface Launcher {
  launch(file: string, args: readonly string[], options: LaunchOptions): Launch;
}

/** Most output a command may print (a `wg show` of a very large interface stays far below). */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Spawns from this process: no helper to start, but each spawn forks this process. */
export const inProcessLauncher: Launcher = {
  launch(file, args, options) {
    const child = execa(file, [...args], {
      reject: false,
      stdin: 'ignore',
      encoding: 'buffer',
      stripFinalNewline: false,
      timeout: options.timeoutMs,
      forceKillAfterDelay: 1000,
      maxBuffer: MAX_OUTPUT_BYTES,
      env: { ...options.env },
    });
    const done = child.then((r): LaunchResult => ({
      stdout: toBytes(r.stdout),
      stderr: toBytes(r.stderr),
      exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
      signal: typeof r.signal === 'string' ? r.signal : null,
      timedOut: r.timedOut === true,
      spawnCode: r.exitCode === undefined && typeof r.code === 'string' ? r.code : null,
    }));
    return { done, kill: () => void child.kill('SIGKILL') };
  },
};

function toBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}
