/**
 * Teardown always runs: while any bed is up, SIGINT and SIGTERM tear every live bed down
 * and then re-raise the signal (so the process still dies of it, with the usual status),
 * and process exit (an uncaught error, process.exit) kills and deletes synchronously.
 * Handlers are installed with the first live bed and removed with the last.
 */

/** What the registry needs from a bed. */
export interface Teardownable {
  teardown(): Promise<unknown>;
  teardownSync(): void;
}

const live = new Set<Teardownable>();
let installed = false;

const onSignal = (signal: NodeJS.Signals): void => {
  void Promise.allSettled([...live].map((b) => b.teardown())).finally(() => {
    uninstall();
    process.kill(process.pid, signal);
  });
};
const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');
const onExit = (): void => {
  for (const b of live) b.teardownSync();
};

/** A bed is up: make sure it is torn down however the process ends. */
export function registerBed(bed: Teardownable): void {
  live.add(bed);
  if (!installed) {
    installed = true;
    // `on`, not `once`: execa's signal-exit re-raises a signal at once when it sees no
    // other listener, which would kill the process before the async teardown finishes.
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    process.on('exit', onExit);
  }
}

/** A bed is down. */
export function unregisterBed(bed: Teardownable): void {
  live.delete(bed);
  if (live.size === 0) uninstall();
}

/** How many beds this process has up (tests use it to show handlers are released). */
export function liveBedCount(): number {
  return live.size;
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigterm);
  process.removeListener('exit', onExit);
}
