/** Shared assertions for the KEM tests. */
import assert from 'node:assert/strict';
import { isPqpskError, type PqpskErrorCode } from '../../src/errors.js';

/** Bytes that are easy to spot in a message: 0xa5 0x5a 0xc3 0x3c … repeated. */
export function marked(length: number): Uint8Array {
  const pattern = [0xa5, 0x5a, 0xc3, 0x3c];
  return Uint8Array.from({ length }, (_, i) => pattern[i % 4]!);
}

/** No run of the input's bytes (8 or more, as hex in either case) appears in `text`. */
export function assertNoHexOf(text: string, bytes: Uint8Array): void {
  if (bytes.length < 8) return; // too short to recognise in a message
  for (let start = 0; start + 8 <= Math.min(bytes.length, 64); start += 4) {
    const hex = Buffer.from(bytes.subarray(start, start + 8)).toString('hex');
    assert.ok(!text.toLowerCase().includes(hex), `message leaks input bytes: ${text}`);
  }
  assert.ok(!text.includes(Buffer.from(bytes.subarray(0, 12)).toString('base64')), `message leaks base64: ${text}`);
}

/**
 * `run` rejects with PqpskError `code` whose message contains every fragment of `includes`
 * and no hex of `secretInputs`.
 */
export async function assertRejectsLabelled(
  run: () => unknown,
  code: PqpskErrorCode,
  includes: string[],
  secretInputs: Uint8Array[] = [],
): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, 'expected a rejection');
  assert.ok(isPqpskError(caught, code), `expected PqpskError ${code}, got ${String(caught)}`);
  for (const fragment of includes) {
    assert.ok(caught.message.includes(fragment), `"${caught.message}" should contain "${fragment}"`);
  }
  for (const bytes of secretInputs) assertNoHexOf(caught.message, bytes);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}
