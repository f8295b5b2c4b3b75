/**
 * The wait of calls that arrive while the relay opens. The service port is bound before
 * the relay has read its interface (a second instance must fail before touching it), so
 * a client that calls the moment the port accepts would otherwise be refused; here such
 * calls wait for the relay to open, bounded in number and in time.
 */
import { PqpskError } from '../errors.js';
import { cancelledError } from './registration-batch.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: PqpskError) => void;
}

/** Why a waiting call is refused: fixed texts (the rpc layer sends its own fixed details). */
function starting(why: string): PqpskError {
  return new PqpskError('STARTING', `relay is starting: ${why}`);
}

/**
 * Admission while opening. Memory bound: at most `maxWaiting` calls wait (the relay's
 * `--max-inflight`), each holding one decoded request of at most MAX_REQUEST_BYTES, and
 * none longer than `waitMs`; a call beyond the cap is refused at once. No request is
 * queued past the opening: once open, waiting calls go on to the relay's own in-flight
 * gate, whose cap is the same number.
 */
export class OpeningWait {
  readonly #waiters = new Set<Waiter>();
  #state: 'opening' | 'open' | 'failed' = 'opening';

  constructor(
    readonly maxWaiting: number,
    readonly waitMs: number,
  ) {}

  /** Calls waiting now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves once the relay is open (at once when it is). Rejects STARTING when
   * `maxWaiting` calls already wait or the relay is still not open after `waitMs`,
   * STOPPING when opening failed, TIMEOUT when `signal` aborts (the client gave up).
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'failed') return Promise.reject(stopped());
    if (this.#waiters.size >= this.maxWaiting) return Promise.reject(starting('too many calls waiting, retry in a few seconds'));
    if (signal?.aborted === true) return Promise.reject(cancelledError());
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: () => (done(), resolve()),
        reject: (err) => (done(), reject(err)),
      };
      const onAbort = (): void => waiter.reject(cancelledError());
      const timer = setTimeout(() => waiter.reject(starting('not open yet, retry in a few seconds')), this.waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** The relay is open: every waiting call goes on. */
  open(): void {
    this.#state = 'open';
    for (const w of [...this.#waiters]) w.resolve();
  }

  /** Opening failed (the service is being torn down): every waiting call is refused STOPPING. */
  fail(): void {
    this.#state = 'failed';
    for (const w of [...this.#waiters]) w.reject(stopped());
  }
}

function stopped(): PqpskError {
  return new PqpskError('STOPPING', 'relay failed to start and is shutting down');
}
