/**
 * CPU time of the calling thread alone, so a figure can leave out the threads that are
 * not the thing measured (the load generator runs on a thread of the relay's process).
 * Linux's /proc/thread-self/schedstat gives the thread's time on a CPU in nanoseconds;
 * where it cannot be read the figure is null and the caller says so.
 */
import { readFileSync } from 'node:fs';

/** The calling thread's CPU time so far, ms; null off Linux or without schedstat. */
export function threadCpuMs(): number | null {
  try {
    const first = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0];
    const ns = Number(first);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}
