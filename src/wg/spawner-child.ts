/**
 * The helper process behind WgSpawner (spawner.ts): it starts the commands its parent
 * sends over the IPC channel and answers each with its output and how it ended. It is
 * small, so forking it is cheap — that is its whole point. Of the project it loads only
 * program.ts (which imports nothing of it but types), holds no secret (`wg` reads keys
 * from FIFOs the parent feeds), and exits when its parent goes away, killing whatever it
 * still runs.
 */
import type { Launch, LaunchResult } from './launcher.js';
import { runProgram } from './program.js';

/** What the parent asks for. */
export type SpawnerRequest =
  | { readonly id: number; readonly file: string; readonly args: readonly string[]; readonly env: Record<string, string>; readonly timeoutMs: number; readonly maxBytes: number }
  | { readonly id: number; readonly kill: true };

/** What the helper answers, once per started request. */
export interface SpawnerReply extends LaunchResult {
  readonly id: number;
}

const running = new Map<number, Launch>();

function start(request: Extract<SpawnerRequest, { file: string }>): void {
  const child = runProgram(request.file, request.args, { env: request.env, timeoutMs: request.timeoutMs, maxBytes: request.maxBytes });
  running.set(request.id, child);
  void child.done.then((result) => {
    running.delete(request.id);
    tell({ id: request.id, ...result } satisfies SpawnerReply);
    result.stdout.fill(0);
  });
}

process.on('message', (message: unknown) => {
  const request = asRequest(message);
  // A message of another shape is dropped: it must not end the commands this helper runs.
  if (request === null) return;
  if ('kill' in request) running.get(request.id)?.kill();
  else start(request);
});

/** The message as a request when it has a request's shape, else null. */
function asRequest(message: unknown): SpawnerRequest | null {
  if (typeof message !== 'object' || message === null) return null;
  const m = message as Record<string, unknown>;
  if (typeof m['id'] !== 'number') return null;
  if (m['kill'] === true) return m as SpawnerRequest;
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((a) => typeof a === 'string');
  const env = m['env'];
  const envOk = typeof env === 'object' && env !== null && Object.values(env).every((v) => typeof v === 'string');
  const ok = typeof m['file'] === 'string' && strings(m['args']) && envOk && typeof m['timeoutMs'] === 'number' && typeof m['maxBytes'] === 'number';
  return ok ? (m as SpawnerRequest) : null;
}

/** Send to the parent; a channel that just closed is not an error (shutdown follows). */
function tell(message: SpawnerReply): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

/** Nothing this helper started may outlive it. */
function shutdown(): never {
  for (const child of running.values()) child.kill();
  process.exit(0);
}

// The parent is gone (exited, crashed, closed the channel), or this helper broke.
process.once('disconnect', shutdown);
process.once('uncaughtException', shutdown);
