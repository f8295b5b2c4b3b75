/**
 * Runs one program with node:child_process and collects what it printed: the one place
 * both launchers (launcher.ts in this process, spawner-child.ts in the helper) start a
 * process. It imports nothing of the project but types, so the helper stays small.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Launch, LaunchResult } from './launcher.js';

/** How one program runs: its whole environment, when it is killed, how much output it may print. */
export interface ProgramOptions {
  readonly env: Readonly<Record<string, string>>;
  /** SIGTERM after this long, SIGKILL a second later; the result says `timedOut`. */
  readonly timeoutMs: number;
  /** More output than this (stdout and stderr together) gets the program SIGKILLed. */
  readonly maxBytes: number;
}

/** SIGKILL follows a timed-out command's SIGTERM after this long. */
const FORCE_KILL_AFTER_MS = 1000;

/**
 * The programs still running. None may outlive this process: a `wg set` waiting for a
 * secret-channel FIFO whose writer is gone would wait forever. Bounded by the callers,
 * which await each program they start.
 */
const running = new Set<ChildProcess>();
let killOnExit = false;

/**
 * Starts `file` with stdin closed and stdout/stderr collected. `done` never rejects: a
 * program that could not start has `spawnCode`. The collected chunks are wiped once
 * joined, since `wg` output may hold keys; the caller wipes what it gets.
 */
export function runProgram(file: string, args: readonly string[], options: ProgramOptions): Launch {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let bytes = 0;
  let timedOut = false;
  let forceKill: NodeJS.Timeout | undefined;
  let child: ChildProcess;
  try {
    child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...options.env } });
  } catch (e) {
    // Node throws, rather than emits, the start failures it does not expect at run time.
    return { done: Promise.resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, signal: null, timedOut: false, spawnCode: errorCode(e) }), kill: () => undefined };
  }
  running.add(child);
  if (!killOnExit) {
    killOnExit = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const done = new Promise<LaunchResult>((resolve) => {
    let answered = false;
    const answer = (how: Pick<LaunchResult, 'exitCode' | 'signal' | 'spawnCode'>): void => {
      if (answered) return;
      answered = true;
      running.delete(child);
      clearTimeout(timer);
      clearTimeout(forceKill);
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err);
      for (const chunk of [...out, ...err]) chunk.fill(0);
      resolve({ stdout, stderr, timedOut, ...how });
    };
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        chunk.fill(0);
        child.kill('SIGKILL');
        return;
      }
      into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    // Every emitter of the child has a listener: an 'error' with none would end this process.
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);
    // `on`, not `once`: a second 'error' (a failed kill) must find a listener too.
    child.on('error', (e) => answer({ exitCode: null, signal: null, spawnCode: errorCode(e) }));
    child.once('close', (code, signal) => answer({ exitCode: code, signal, spawnCode: null }));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
  }, options.timeoutMs);
  return { done, kill: () => void child.kill('SIGKILL') };
}

/** The errno name (EMFILE, ENOENT…) of a failure to start a process. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
