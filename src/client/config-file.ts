/**
 * Parent-key custody: the watcher reads the interface's parent private key from where the
 * user keeps it, so that after a crash while the interface is on an ephemeral key a
 * restarted watcher can still go back to the key the relay always knows. Three places are
 * read, told apart by their content: a wg-quick file (`PrivateKey` in `[Interface]`), a
 * systemd-networkd `.netdev` (`PrivateKey` or `PrivateKeyFile` in `[WireGuard]`) and a
 * key file as `wg genkey` writes it (one base64 line). Read only, never written; the
 * files' bytes are scanned without becoming a string and wiped after (best effort in JS).
 * Errors name the file and the line, never a line's content. A wg-quick file that asks
 * wg-quick to write it back (`SaveConfig = true`) is refused.
 */
import { constants, existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { PqpskError } from '../errors.js';
import { checkTrusted } from '../fs-checks.js';
import { decodeKeyBase64 } from '../wg/keys.js';
import { forEachEntry, saveConfigHazard, saveConfigLine } from '../wg/quick-file.js';

/** Where wg-quick keeps the file for `iface`. */
export function defaultConfigFile(iface: string): string {
  return `/etc/wireguard/${iface}.conf`;
}

/**
 * What a file says about the parent key: the key itself, or (a `.netdev` with
 * `PrivateKeyFile=`) the absolute path of the file that holds it.
 */
export type KeySource =
  | { readonly format: 'wg-quick' | 'networkd' | 'raw'; readonly key: Uint8Array }
  | { readonly format: 'networkd'; readonly keyFile: string; readonly line: number };

const NOT_A_KEY_FILE =
  'not a wg-quick file ([Interface] with PrivateKey), a systemd-networkd .netdev ([WireGuard] with PrivateKey or PrivateKeyFile) ' +
  'or a key file as `wg genkey` writes it (one line of 44 base64 characters)';

/**
 * Where the parent key of a config file is (pure): the one `PrivateKey` of a wg-quick
 * `[Interface]` or networkd `[WireGuard]` section, the one `PrivateKeyFile` of a
 * `[WireGuard]` section, or, in a file without sections, the whole file as one key.
 * Section and key names are matched without regard to case; lines starting with `#` or
 * `;` and the rest of a line after `#` are comments.
 */
export function parseKeySource(label: string, bytes: Uint8Array): KeySource {
  let found: KeySource | null = null;
  let sawSection: boolean;
  try {
    sawSection = forEachEntry(bytes, (section, name, line, value) => {
      if (section !== '[interface]' && section !== '[wireguard]') return;
      const isFile = section === '[wireguard]' && name === 'privatekeyfile';
      if (name !== 'privatekey' && !isFile) return;
      if (found !== null) throw new PqpskError('INVALID_INPUT', `${label}: more than one PrivateKey${section === '[wireguard]' ? ' or PrivateKeyFile' : ''} line (line ${line})`);
      const format = section === '[interface]' ? 'wg-quick' : 'networkd';
      if (isFile) found = { format: 'networkd', keyFile: keyFilePath(label, line, value), line };
      else found = { format, key: decodeKeyBase64(`${label} line ${line} PrivateKey`, value) };
    });
  } catch (err) {
    const held = found as KeySource | null;
    if (held !== null && 'key' in held) held.key.fill(0);
    throw err;
  }
  if (found !== null) return found;
  if (sawSection) {
    throw new PqpskError('INVALID_INPUT', `${label}: no PrivateKey line in [Interface] (wg-quick) nor PrivateKey or PrivateKeyFile in [WireGuard] (systemd-networkd)`);
  }
  return { format: 'raw', key: parseRawKey(label, bytes) };
}

/** A key file as `wg genkey` writes it: 44 base64 characters, blank space around them allowed (pure). */
export function parseRawKey(label: string, bytes: Uint8Array): Uint8Array {
  try {
    return decodeKeyBase64(label, bytes);
  } catch {
    let nonBlank = 0;
    for (const c of bytes) if (!isBlank(c) && c !== 0x0a) nonBlank++;
    throw new PqpskError('INVALID_INPUT', `${label}: ${NOT_A_KEY_FILE}; it has ${nonBlank} non-blank characters and no [section]`);
  }
}

/**
 * Read the parent key from `path` (any of the three formats); the caller owns (and wipes)
 * the result. A file with `SaveConfig = true` is refused (SETUP): wg-quick would overwrite
 * its parent key with the ephemeral one on the next `down`, locking the client out for good.
 */
export async function readParentKey(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PqpskError(code === 'ENOENT' ? 'NOT_FOUND' : 'SETUP', `--config-file ${path}: cannot read it (${code})`);
  }
  let source: KeySource;
  try {
    const saveConfig = saveConfigLine(bytes);
    if (saveConfig !== null) throw new PqpskError('SETUP', saveConfigHazard(path, saveConfig, 'client'));
    source = parseKeySource(path, bytes);
  } finally {
    bytes.fill(0);
  }
  if ('key' in source) return source.key;
  return readKeyFile(`${path} line ${source.line} PrivateKeyFile ${source.keyFile}`, source.keyFile);
}

/**
 * Read the key file a `.netdev` names, as carefully as pqpsk reads its own state: not
 * through a symlink, a regular file, owned by this process's user and writable by no one
 * else — whoever can rewrite it decides which key the watcher falls back to. Group-readable
 * is fine: networkd's own documentation asks for root:systemd-network, mode 0640.
 */
export async function readKeyFile(label: string, path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    if (code === 'ELOOP') throw new PqpskError('SETUP', `${label}: is a symlink; name the file itself`);
    throw new PqpskError(code === 'ENOENT' ? 'NOT_FOUND' : 'SETUP', `${label}: cannot read it (${code})`);
  }
  let bytes: Uint8Array | undefined;
  try {
    const st = await handle.stat();
    checkTrusted(label, st, { kind: 'file', hints: { writable: 'chmod 600 it (or 640 with group systemd-network)' } });
    bytes = await handle.readFile();
    return parseRawKey(label, bytes);
  } finally {
    bytes?.fill(0);
    await handle.close();
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

/** `PrivateKeyFile=`'s value: an absolute path, as systemd-networkd requires. Not a secret, so it may be named. */
function keyFilePath(label: string, line: number, value: Uint8Array): string {
  let a = 0;
  while (a < value.length && isBlank(value[a]!)) a++;
  const path = new TextDecoder('utf-8', { fatal: false }).decode(value.subarray(a));
  if (path === '') throw new PqpskError('INVALID_INPUT', `${label} line ${line} PrivateKeyFile: empty`);
  if (!isAbsolute(path)) throw new PqpskError('INVALID_INPUT', `${label} line ${line} PrivateKeyFile: expected an absolute path (as systemd-networkd does), got ${JSON.stringify(path)}`);
  return path;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}
