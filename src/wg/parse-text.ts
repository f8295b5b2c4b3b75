/**
 * What every parser of `wg show` output shares: the `(none)` marker, the bytes that
 * separate fields and lines, and a copy of a field that does not pin the whole output.
 * Errors of every parser name the line and the field, never the text (a line can hold a key).
 */

/** How `wg` prints an absent key, endpoint or allowed-ips list. */
export const NONE = '(none)';
/** Field separator of the tab-separated forms. */
export const TAB = 0x09;
/** Line separator. */
export const NEWLINE = 0x0a;

/**
 * A copy of `text` that does not keep the whole command output alive. V8 may represent a
 * substring as a slice of its parent string, so a key kept in the relay's book would pin
 * the entire `wg show dump` text it came from (measured: heap growing with the square
 * of the peer count). Fields are ASCII, so a latin1 round trip copies them exactly.
 */
export function detach(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** Whether `bytes[start, end)` is exactly `(none)`, checked on the bytes (a field may be a secret). */
export function isNoneAt(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== NONE.length) return false;
  for (let i = 0; i < NONE.length; i++) if (bytes[start + i] !== NONE.charCodeAt(i)) return false;
  return true;
}
