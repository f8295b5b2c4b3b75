/**
 * `pqpsk negotiate` without the terminal: attempts on the published schedule within the
 * run's deadline, until one switches every hop and shows it works, or the run gives up
 * and leaves every tunnel on a key that carries traffic. One attempt, the keys and the
 * ways back live in negotiation.ts and the files it names.
 *
 * Secrets: none here; the Negotiation holds the keys and wipes them when the run ends.
 */
import { ERROR_TABLE } from '../error-table.js';
import { PqpskError, isPqpskError, type PqpskErrorCode } from '../errors.js';
import { attemptTimeoutMs } from '../protocol/plan.js';
import { HeadStart } from './head-start.js';
import type { MssClamp } from './hop-route.js';
import { Negotiation } from './negotiation.js';
import type { NegotiateDeps } from './negotiation-deps.js';
import { checkHops } from './read-hop.js';
import type { HopSpec, NegotiationReport } from './types.js';
import { systemClock } from './verify.js';

/** What to negotiate and how patiently (the CLI parses its flags into these). */
export interface NegotiateOptions {
  /** One `single` hop, or an `entry` and an `exit` hop. */
  readonly hops: readonly HopSpec[];
  /** Give up after this many attempts; null: keep trying until one succeeds. */
  readonly maxAttempts: number | null;
  /** Shrinks the 8/16/32/48 s schedule for tests; 1 in production. */
  readonly timeoutScale: number;
  readonly verifyTimeoutMs: number;
  /** Start no attempt after this long, and cut the last one short to end by then; unset: no bound. */
  readonly maxTotalMs?: number;
  /** Parent private keys per interface (e.g. from the wg-quick file); the negotiation owns and wipes them. */
  readonly parentKeys?: ReadonlyMap<string, Uint8Array>;
}

/**
 * Negotiate PSKs for the hops (exit before entry), switch and verify them all, or leave
 * every interface on its parent key and throw. Errors carry a one-line message.
 */
export async function negotiate(options: NegotiateOptions, deps: NegotiateDeps): Promise<NegotiationReport> {
  checkOptions(options);
  const clock = deps.clock ?? systemClock;
  const emit = deps.onEvent ?? (() => undefined);
  const start = clock.monotonic();
  const deadline = options.maxTotalMs === undefined ? Number.POSITIVE_INFINITY : start + options.maxTotalMs;
  // Reading the interface starts first (its process is started before `open` returns),
  // then the first attempt's routes, connection and keys beside it.
  const opening = Negotiation.open(options.hops, deps, {
    verifyTimeoutMs: options.verifyTimeoutMs,
    ...(options.parentKeys === undefined ? {} : { parentKeys: options.parentKeys }),
  });
  const head = HeadStart.begin(options.hops, deps);
  let negotiation: Negotiation;
  try {
    negotiation = await opening;
  } catch (err) {
    head?.close();
    for (const clamp of (await head?.clamps.catch(() => [])) ?? []) await clamp.undo().catch(() => undefined);
    throw err;
  }
  const clamps: MssClamp[] = [];
  try {
    if (head !== null) clamps.push(...(await head.clamps));
    else if (deps.mssGuard !== undefined) clamps.push(...(await negotiation.applyMssGuard(deps.mssGuard)));
    let lastError: PqpskError | null = null;
    let attempt = 0;
    for (; options.maxAttempts === null || attempt < options.maxAttempts; attempt++) {
      const left = deadline - clock.monotonic();
      if (left <= 0) break;
      const timeoutMs = Math.min(attemptTimeoutMs(attempt, options.timeoutScale), left);
      const attemptStart = clock.monotonic();
      emit({ kind: 'attempt', attempt: attempt + 1, timeoutMs });
      try {
        const hops = await negotiation.attempt(timeoutMs, 'working', undefined, undefined, attempt === 0 ? (head ?? undefined) : undefined);
        return { hops, attempts: attempt + 1, totalMs: clock.monotonic() - start };
      } catch (err) {
        if (isPqpskError(err, 'ROLLBACK_FAILED')) {
          emit({ kind: 'attempt-failed', attempt: attempt + 1, code: err.code, message: err.message, nextInMs: null });
          throw err;
        }
        if (!isPqpskError(err) || !ERROR_TABLE[err.code].retry) throw err;
        lastError = err;
      }
      // An attempt owns its whole window: a quick failure (nothing listening) waits it out,
      // so retries follow the schedule instead of spinning.
      const rest = Math.max(0, Math.min(attemptStart + timeoutMs, deadline) - clock.monotonic());
      const another = (options.maxAttempts === null || attempt + 1 < options.maxAttempts) && clock.monotonic() + rest < deadline;
      emit({ kind: 'attempt-failed', attempt: attempt + 1, code: lastError.code, message: lastError.message, nextInMs: another ? Math.round(rest) : null });
      if (rest > 0 && another) await clock.sleep(rest);
    }
    const code: PqpskErrorCode = lastError?.code ?? 'TIMEOUT';
    const after = options.maxAttempts !== null && attempt >= options.maxAttempts ? `${attempt} attempt${attempt === 1 ? '' : 's'}` : `${attempt} attempt${attempt === 1 ? '' : 's'} in ${Math.round((clock.monotonic() - start) / 1000)} s (--max-time)`;
    const gaveUp = `gave up after ${after}: ${lastError?.message ?? 'no attempt made'}`;
    const settled = await negotiation.settle();
    throw new PqpskError(settled.working ? code : 'TUNNEL_DOWN', `${gaveUp}; ${settled.where}`, { cause: lastError });
  } finally {
    head?.close();
    for (const clamp of clamps.reverse()) await clamp.undo().catch(() => undefined);
    negotiation.wipe();
  }
}

/** The options make sense; named as the options are (the CLI checks its flags before). */
function checkOptions(options: NegotiateOptions): void {
  checkHops(options.hops);
  if (options.maxTotalMs !== undefined && !(Number.isFinite(options.maxTotalMs) && options.maxTotalMs > 0)) {
    throw new PqpskError('INVALID_INPUT', `maxTotalMs: expected a positive number of milliseconds, got ${options.maxTotalMs}`);
  }
  if (options.maxAttempts !== null && !(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) {
    throw new PqpskError('INVALID_INPUT', `maxAttempts: expected a whole number ≥ 1, got ${options.maxAttempts}`);
  }
  if (!(Number.isFinite(options.verifyTimeoutMs) && options.verifyTimeoutMs > 0)) {
    throw new PqpskError('INVALID_INPUT', `verifyTimeoutMs: expected a positive number of milliseconds, got ${options.verifyTimeoutMs}`);
  }
  attemptTimeoutMs(0, options.timeoutScale);
}
