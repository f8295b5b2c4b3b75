/** Paths and samples shared by the wg tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/wg/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A recorded `wg show` output from test/fixtures/wg-show/. */
export function sample(name: string): string {
  return readFileSync(`${REPO_ROOT}test/fixtures/wg-show/${name}`, 'utf8');
}

/** Deterministic 32-byte test keys (not secrets: test inputs only). */
export function testKey(seed: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7 + 1) & 0xff);
}

/** Whether `pid` still runs (a zombie waiting for init to reap it does not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
