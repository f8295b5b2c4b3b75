/**
 * Parent-key custody: the watcher reads the interface's parent private key from its
 * wg-quick file (the `PrivateKey` line), so that after a crash while the interface is on
 * an ephemeral key a restarted watcher can still go back to the key the relay always
 * knows. Read only, never written; the file's bytes are scanned without becoming a
 * string and wiped after (best effort in JS).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PqpskError } from '../errors.js';
import { decodeKeyBase64 } from '../wg/keys.js';

/** Where wg-quick keeps the file for `iface`. */
export function defaultConfigFile(iface: string): string {
  return `/etc/wireguard/${iface}.conf`;
}

const NAME = 'privatekey';

/**
 * The `PrivateKey = …` value of a wg-quick file's `[Interface]` section (pure). Errors
 * name the file label and the line number, never the line.
 */
export function parsePrivateKey(label: string, bytes: Uint8Array): Uint8Array {
  let start = 0;
  let line = 0;
  let section = '';
  let found: Uint8Array | null = null;
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
    if (a === b) continue;
    if (bytes[a] === 0x5b) {
      section = ascii(bytes.subarray(a, b)).toLowerCase();
      continue;
    }
    const eq = bytes.subarray(a, b).indexOf(0x3d);
    if (eq < 0 || section !== '[interface]') continue;
    let k = a + eq;
    while (k > a && isBlank(bytes[k - 1]!)) k--;
    if (ascii(bytes.subarray(a, k)).toLowerCase() !== NAME) continue;
    if (found !== null) {
      found.fill(0);
      throw new PqpskError('INVALID_INPUT', `${label}: more than one PrivateKey line (line ${line})`);
    }
    found = decodeKeyBase64(`${label} line ${line} PrivateKey`, bytes.subarray(a + eq + 1, b));
  }
  if (found === null) throw new PqpskError('INVALID_INPUT', `${label}: no PrivateKey line in [Interface]`);
  return found;
}

/** Read the parent private key from `path`; the caller owns (and wipes) the result. */
export async function readParentKey(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PqpskError(code === 'ENOENT' ? 'NOT_FOUND' : 'SETUP', `--config-file ${path}: cannot read it (${code})`);
  }
  try {
    return parsePrivateKey(path, bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * The parent keys for `ifaces`: `explicit` (a path per interface, from --config-file)
 * or, where none is given, the wg-quick file when it exists.
 */
export async function readParentKeys(ifaces: readonly string[], explicit: ReadonlyMap<string, string>): Promise<Map<string, Uint8Array>> {
  const keys = new Map<string, Uint8Array>();
  try {
    for (const iface of ifaces) {
      const path = explicit.get(iface) ?? defaultConfigFile(iface);
      if (!explicit.has(iface) && !existsSync(path)) continue;
      keys.set(iface, await readParentKey(path));
    }
  } catch (err) {
    for (const key of keys.values()) key.fill(0);
    throw err;
  }
  return keys;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Text of a key name or section header (never of a value). */
function ascii(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
