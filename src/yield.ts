/**
 * Let the event loop run what is waiting — timers, I/O, other requests — before going on.
 * The relay splits work that grows with the interface (parsing 10 000 lines, planning
 * 10 000 families) into slices with this between them, so no single task holds the loop
 * for long.
 *
 * Waiters are released one per turn of the loop. Node runs every `setImmediate` callback
 * that is due in one go, so two sliced jobs each yielding with its own `setImmediate`
 * (the two reads of a refresh, a batch beside a watcher pass) would run a slice of each
 * back to back, and the loop would be held for the sum. (Not a resolved promise either:
 * its continuation runs before anything else and would let nothing in.)
 */
const waiting: (() => void)[] = [];

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (waiting.length === 1) setImmediate(releaseOne);
  });
}

function releaseOne(): void {
  const next = waiting.shift();
  if (waiting.length > 0) setImmediate(releaseOne);
  next?.();
}
