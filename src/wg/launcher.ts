/**
 * How the runner starts a program: the one seam between `wg` commands and process
 * creation. Two launchers: `inProcessLauncher` spawns from this process (program.ts), right for
 * short-lived commands; `WgSpawner` (spawner.ts) hands each command to a small helper
 * process, which a long-running relay uses so that creating a process never stalls its
 * event loop.
 */
import { runProgram } from './program.js';

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

/**
 * Spawns from this process: no helper to start, but each spawn forks this process. The
 * program gets this process's environment with `options.env` over it.
 */
export const inProcessLauncher: Launcher = {
  launch(file, args, options) {
    return runProgram(file, args, { env: environmentWith(options.env), timeoutMs: options.timeoutMs, maxBytes: MAX_OUTPUT_BYTES });
  },
};

/** This process's environment as it is now, with `extra` over it: what either launcher's program gets. */
export function environmentWith(extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return { ...env, ...extra };
}
