/**
 * Structure-aware inputs for the fuzz targets: well-formed values as a parser expects
 * them, the same values with random edits (flipped, cut, repeated, inserted pieces), and
 * plain random data. Edits of valid inputs reach the deep branches that random bytes
 * almost never do.
 */
import fc from 'fast-check';

/** One edit of a sequence: positions are fractions of its length, so they fit any length. */
type Edit =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'repeat'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fraction, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fraction, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fraction, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fraction, length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
);

function applyEdit(bytes: Uint8Array, e: Edit): Uint8Array {
  const at = Math.floor(e.at * (bytes.length + 1));
  const b = Buffer.from(bytes);
  switch (e.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = Uint8Array.from(bytes);
      const i = Math.min(at, bytes.length - 1);
      out[i] = out[i]! ^ e.xor;
      return out;
    }
    case 'cut':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]);
    case 'insert':
      return Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
    case 'repeat':
      return Buffer.concat([b.subarray(0, at + e.length), b.subarray(at)]);
    case 'truncate':
      return b.subarray(0, at);
  }
}

/** `base` with one to four random edits. */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => edits.reduce(applyEdit, bytes));
}

/** `base` text with one to four random edits (applied to its UTF-8 bytes, so they may break characters). */
export function mutatedText(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutatedBytes(base.map((s) => Buffer.from(s, 'utf8'))).map((b) => Buffer.from(b).toString('utf8'));
}

/** Text of bytes a program or a person might produce: printable, control, tabs, newlines, non-ASCII. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** A well-formed WireGuard public key text (44 base64 characters ending in `=`), from random bytes. */
export const keyText: fc.Arbitrary<string> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));

/** Numbers as a tool prints them, and the edge cases around them. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('0', '-1', '1e3', '18446744073709551615', '999999999999999', '9999999999999999', '', ' 1', '0x10', 'off', '(none)'),
);

/** IP addresses and prefixes in the forms they are written, valid and near-valid. */
export const addressText: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: -1, max: 140 })).map(([ip, p]) => `${ip}/${p}`),
  fc.constantFrom('::', '::1', '::ffff:10.0.0.1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::1.2.3.4', '1.2.3', '01.02.03.004', '256.0.0.1', ':::', '1::2::3', 'fe80::1%eth0', '0.0.0.0/0', '::/0'),
);
