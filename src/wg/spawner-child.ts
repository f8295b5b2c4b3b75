/**
 * The helper process behind WgSpawner (spawner.ts): it starts the commands its parent
 * sends over the IPC channel and answers each with its output and how it ended. It is
 * small, so forking it is cheap — that is its whole point. It loads nothing of the
 * project, holds no secret (`wg` reads keys from FIFOs the parent feeds), and exits when
 * its parent goes away, killing whatever it still runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
// Types only: erased when compiled, so the helper still loads nothing of the project.
import type { LaunchResult } from './launcher.js';

/** What the parent asks for. */
export type SpawnerRequest =
  | { readonly id: number; readonly file: string; readonly args: readonly string[]; readonly env: Record<string, string>; readonly timeoutMs: number; readonly maxBytes: number }
  | { readonly id: number; readonly kill: true };

/** What the helper answers, once per started request. */
export interface SpawnerReply extends LaunchResult {
  readonly id: number;
}

/** SIGKILL follows a timed-out command's SIGTERM after this long. */
const FORCE_KILL_AFTER_MS = 1000;

const running = new Map<number, ChildProcess>();

function start(request: Extract<SpawnerRequest, { file: string }>): void {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let bytes = 0;
  let timedOut = false;
  let answered = false;
  const answer = (reply: Omit<SpawnerReply, 'id' | 'stdout' | 'stderr' | 'timedOut'>): void => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    clearTimeout(forceKill);
    running.delete(request.id);
    const stdout = Buffer.concat(out);
    const stderr = Buffer.concat(err);
    tell({ id: request.id, stdout, stderr, timedOut, ...reply } satisfies SpawnerReply);
    stdout.fill(0);
    for (const chunk of out) chunk.fill(0);
  };
  const child = spawn(request.file, [...request.args], { stdio: ['ignore', 'pipe', 'pipe'], env: request.env });
  running.set(request.id, child);
  let forceKill: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
  }, request.timeoutMs);
  const collect = (into: Buffer[]) => (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > request.maxBytes) {
      child.kill('SIGKILL');
      return;
    }
    into.push(chunk);
  };
  child.stdout?.on('data', collect(out));
  child.stderr?.on('data', collect(err));
  child.once('error', (e: NodeJS.ErrnoException) => {
    answer({ exitCode: null, signal: null, spawnCode: typeof e.code === 'string' ? e.code : 'EUNKNOWN' });
  });
  child.once('close', (code, signal) => answer({ exitCode: code, signal, spawnCode: null }));
}

process.on('message', (request: SpawnerRequest) => {
  if ('kill' in request) running.get(request.id)?.kill('SIGKILL');
  else start(request);
});

/** Send to the parent; a channel that just closed is not an error (shutdown follows). */
function tell(message: SpawnerReply): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

/** Nothing this helper started may outlive it. */
function shutdown(): never {
  for (const child of running.values()) child.kill('SIGKILL');
  process.exit(0);
}

// The parent is gone (exited, crashed, closed the channel), or this helper broke.
process.once('disconnect', shutdown);
process.once('uncaughtException', shutdown);
