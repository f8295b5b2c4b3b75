/**
 * Reading WireGuard's INI-style files line by line without decoding secrets, and what a
 * wg-quick file says about itself apart from keys: whether `SaveConfig = true`
 * asks wg-quick to write the interface's running state back into the file on `down`.
 * The file also holds a private key (and maybe PSKs): its bytes are scanned without
 * becoming a string, only key names and the SaveConfig value are ever decoded, and a
 * read buffer is wiped after (best effort in JS).
 */
import { readFile } from 'node:fs/promises';

/**
 * Call `entry` for each `name = value` line of an INI-style WireGuard file — wg-quick's
 * or a systemd-networkd `.netdev` — (pure): the current `[section]` and the name, both
 * lower-cased, the 1-based line number, and the value trimmed, as a view of `bytes` (never
 * copied, never decoded here). A `#` starts a comment, as does a `;` opening a line
 * (networkd's other comment mark). Returns whether the file had any `[section]` line.
 */
export function forEachEntry(bytes: Uint8Array, entry: (section: string, name: string, line: number, value: Uint8Array) => void): boolean {
  let start = 0;
  let line = 0;
  let section = '';
  let sawSection = false;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    line++;
    let a = start;
    let b = i;
    start = i + 1;
    const hash = bytes.subarray(a, b).indexOf(0x23);
    if (hash >= 0) b = a + hash;
    while (a < b && isBlank(bytes[a]!)) a++;
    while (b > a && isBlank(bytes[b - 1]!)) b--;
    if (a === b || bytes[a] === 0x3b) continue;
    if (bytes[a] === 0x5b) {
      section = ascii(bytes.subarray(a, b)).toLowerCase();
      sawSection = true;
      continue;
    }
    const eq = bytes.subarray(a, b).indexOf(0x3d);
    if (eq < 0) continue;
    let k = a + eq;
    while (k > a && isBlank(bytes[k - 1]!)) k--;
    let v = a + eq + 1;
    while (v < b && isBlank(bytes[v]!)) v++;
    entry(section, ascii(bytes.subarray(a, k)).toLowerCase(), line, bytes.subarray(v, b));
  }
  return sawSection;
}

/**
 * The line number of an `[Interface]` `SaveConfig = true` in a wg-quick file, or null
 * (pure). Names and values are matched without regard to case, and the last SaveConfig
 * line wins, as wg-quick reads it.
 */
export function saveConfigLine(bytes: Uint8Array): number | null {
  let found: number | null = null;
  forEachEntry(bytes, (section, name, line, value) => {
    // A SaveConfig value is short; anything longer is not `true` and is never decoded.
    if (section === '[interface]' && name === 'saveconfig') found = value.length === 4 && ascii(value).toLowerCase() === 'true' ? line : null;
  });
  return found;
}

/**
 * The `SaveConfig = true` line of the wg-quick file at `path`, or null when it has none
 * or cannot be read (the caller decides whether a missing file matters).
 */
export async function readSaveConfigLine(path: string): Promise<number | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return null;
  }
  try {
    return saveConfigLine(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Why SaveConfig and pqpsk do not mix, for the client's refusal and the relay's warning:
 * the sentence names what wg-quick would write and where.
 */
export function saveConfigHazard(path: string, line: number, side: 'client' | 'relay'): string {
  return side === 'client'
    ? `${path} line ${line}: SaveConfig = true: on \`wg-quick down\` wg-quick would write the ephemeral private key and its PresharedKey into this file in place of the parent key, and the next \`wg-quick up\` would come up on a key the relay has forgotten; set SaveConfig = false (or remove the line), then run pqpsk again`
    : `${path} line ${line}: SaveConfig = true: on \`wg-quick down\` wg-quick would write every ephemeral peer and its PresharedKey into this file, and bring them back as permanent peers; set SaveConfig = false (or remove the line)`;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Text of a key name, a section header or a SaveConfig value (never of another value). */
function ascii(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
