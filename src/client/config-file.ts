/**
 * Parent-key custody: the watcher reads the interface's parent private key from its
 * wg-quick file (the `PrivateKey` line), so that after a crash while the interface is on
 * an ephemeral key a restarted watcher can still go back to the key the relay always
 * knows. Read only, never written; the file's bytes are scanned without becoming a
 * string and wiped after (best effort in JS). A file that asks wg-quick to write it back
 * (`SaveConfig = true`) is refused.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PqpskError } from '../errors.js';
import { decodeKeyBase64 } from '../wg/keys.js';
import { forEachInterfaceEntry, saveConfigHazard, saveConfigLine } from '../wg/quick-file.js';

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
  let found: Uint8Array | null = null;
  try {
    forEachInterfaceEntry(bytes, (name, line, value) => {
      if (name !== NAME) return;
      if (found !== null) throw new PqpskError('INVALID_INPUT', `${label}: more than one PrivateKey line (line ${line})`);
      found = decodeKeyBase64(`${label} line ${line} PrivateKey`, value);
    });
  } catch (err) {
    (found as Uint8Array | null)?.fill(0);
    throw err;
  }
  if (found === null) throw new PqpskError('INVALID_INPUT', `${label}: no PrivateKey line in [Interface]`);
  return found;
}

/**
 * Read the parent private key from `path`; the caller owns (and wipes) the result. A file
 * with `SaveConfig = true` is refused (SETUP): wg-quick would overwrite its parent key
 * with the ephemeral one on the next `down`, locking the client out for good.
 */
export async function readParentKey(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PqpskError(code === 'ENOENT' ? 'NOT_FOUND' : 'SETUP', `--config-file ${path}: cannot read it (${code})`);
  }
  try {
    const saveConfig = saveConfigLine(bytes);
    if (saveConfig !== null) throw new PqpskError('SETUP', saveConfigHazard(path, saveConfig, 'client'));
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
