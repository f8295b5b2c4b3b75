/**
 * What every KEM whose work happens outside kem/ (WebAssembly, native reference code) does
 * with its backend: keep the backend's errors inside our error family, and treat a result
 * of the wrong size as our bug rather than the peer's.
 */
import { checkLength, isPqpskError, PqpskError } from '../errors.js';

/** Run a backend operation; a foreign error becomes INTERNAL without its message. */
export async function guardBackend<T>(kemName: string, operation: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isPqpskError(err)) throw err;
    throw new PqpskError('INTERNAL', `${kemName} ${operation}: backend failed`, { cause: err });
  }
}

/** A wrong-sized backend result: wipe the secrets it carried and say INTERNAL. */
export function checkBackendOutput(label: string, bytes: Uint8Array, expected: number, secrets: Uint8Array[]): void {
  try {
    checkLength(label, bytes, expected);
  } catch (cause) {
    for (const s of secrets) if (s instanceof Uint8Array) s.fill(0);
    throw new PqpskError('INTERNAL', `${label}: backend returned the wrong size`, { cause });
  }
}
