/**
 * Reading PSKs back from WireGuard, into memory only: `wg show <iface> preshared-keys`.
 * WgControl deliberately has no such read, and neither the client nor the relay runs it:
 * only the test bed does (the demo, the benchmark and the end-to-end tests), to compare
 * the PSK fingerprints of a tunnel's two ends. The output bytes are parsed without ever
 * becoming a JS string and wiped afterwards (best effort).
 */
import { PqpskError } from '../errors.js';
import { checkInterfaceName, type WgCommand } from '../wg/argv.js';
import { decodeKeyBase64, isPublicKeyText } from '../wg/keys.js';
import { runWg, type WgRunnerOptions } from '../wg/runner.js';

/** `wg show <iface> preshared-keys`: `<public key>\t<psk or (none)>` per peer. */
export function presharedKeysCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  const argv = ['show', iface, 'preshared-keys'];
  return { argv, display: argv, secrets: [] };
}

/**
 * Parse that output (pure). Returns public key → PSK bytes (null for `(none)`); the caller
 * wipes the PSKs. Errors name the line, never its text.
 */
export function parsePresharedKeys(iface: string, bytes: Uint8Array): Map<string, Uint8Array | null> {
  const out = new Map<string, Uint8Array | null>();
  let line = 0;
  let start = 0;
  try {
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      const row = bytes.subarray(start, i);
      start = i + 1;
      line++;
      if (row.length === 0) continue;
      const tab = row.indexOf(0x09);
      const label = `\`wg show ${iface} preshared-keys\` line ${line}`;
      if (tab < 0) throw new PqpskError('WG_FAILURE', `${label}: expected two tab-separated fields`);
      const publicKey = new TextDecoder().decode(row.subarray(0, tab));
      if (!isPublicKeyText(publicKey)) throw new PqpskError('WG_FAILURE', `${label}: not a public key`);
      const field = row.subarray(tab + 1);
      const none = field.length === 6 && new TextDecoder().decode(field) === '(none)';
      out.set(publicKey, none ? null : decodeKeyBase64(`${label} preshared key`, field));
    }
  } catch (err) {
    for (const psk of out.values()) psk?.fill(0);
    throw err;
  }
  return out;
}

/** Every peer's PSK of `iface` (null when none), read through the real `wg`. Caller wipes. */
export async function readPresharedKeys(iface: string, options: WgRunnerOptions = {}): Promise<Map<string, Uint8Array | null>> {
  const bytes = await runWg(() => presharedKeysCommand(iface), iface, options);
  try {
    return parsePresharedKeys(iface, bytes);
  } finally {
    bytes.fill(0);
  }
}

/** One peer's PSK (null when none or no such peer). Caller wipes. */
export async function readPresharedKey(iface: string, peer: string, options: WgRunnerOptions = {}): Promise<Uint8Array | null> {
  const all = await readPresharedKeys(iface, options);
  const mine = all.get(peer) ?? null;
  for (const [key, psk] of all) if (key !== peer) psk?.fill(0);
  return mine;
}
