/**
 * The test bed's whole read of an interface: `wg show <iface> dump`, the one form that
 * prints the private key and every PSK, so neither the client nor the relay ever runs it.
 * The secrets are masked in the output bytes before they are decoded, and the parser
 * drops what is left of them; the demo and the tests read peers, endpoints and counters.
 *
 * The dump (wg(8)): the first line is `private-key public-key listen-port fwmark`; each
 * further line is `public-key preshared-key endpoint allowed-ips latest-handshake
 * transfer-rx transfer-tx persistent-keepalive`, tab-separated, with `(none)` for an
 * absent key, endpoint or allowed-ips list and `off` for no keepalive.
 */
import { PqpskError } from '../errors.js';
import { listenPortCommand, showDumpCommand } from '../wg/argv.js';
import { KEY_BASE64_CHARS, isPublicKeyText } from '../wg/keys.js';
import { NEWLINE, NONE, TAB, detach, isNoneAt } from '../wg/parse-text.js';
import { RealWgControl } from '../wg/real.js';
import { runWg } from '../wg/runner.js';
import type { WgInterfaceState, WgPeer } from '../wg/types.js';

const MASK = 0x2a; // '*'

/** The real WireGuard control with the bed's extra powers: read a whole interface, pin a listen port. */
export class BedWgControl extends RealWgControl {
  /** `wg show <iface> dump`, with the private key and PSKs masked in place before the text is decoded. */
  async show(iface: string): Promise<WgInterfaceState> {
    const bytes = await runWg(() => showDumpCommand(iface), iface, this.options);
    try {
      maskDumpSecrets(bytes);
      return parseDump(iface, new TextDecoder().decode(bytes));
    } finally {
      bytes.fill(0);
    }
  }

  /** Relays of the bed listen on a known port (0 = WireGuard picks). */
  async setListenPort(iface: string, port: number): Promise<void> {
    await runWg(() => listenPortCommand(iface, port), iface, this.options);
  }
}

/**
 * Overwrites, in place, the secret fields of raw `dump` output (the interface's private
 * key, each peer's PSK) with `*`, so the text can become a JS string — which cannot be
 * wiped — without carrying a secret. `(none)` is left as it is; a masked PSK still
 * reads as present to `parseDump`.
 */
export function maskDumpSecrets(bytes: Uint8Array): void {
  let line = 0;
  let field = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i] : NEWLINE;
    if (b !== TAB && b !== NEWLINE) continue;
    const isSecret = (line === 0 && field === 0) || (line > 0 && field === 1);
    if (isSecret && !isNoneAt(bytes, start, i)) bytes.fill(MASK, start, i);
    if (b === NEWLINE) {
      line++;
      field = 0;
    } else {
      field++;
    }
    start = i + 1;
  }
}

/** Parses `wg show <iface> dump`; the private key and PSK values are dropped, never returned. */
export function parseDump(iface: string, text: string): WgInterfaceState {
  const where = `\`wg show ${iface} dump\` output`;
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const head = lines[0];
  if (head === undefined) throw new PqpskError('WG_FAILURE', `${where}: empty`);
  const h = fields(where, head, 1, 4);
  const publicKey = h[1]!;
  if (publicKey !== NONE && !isPublicKeyText(publicKey)) {
    throw new PqpskError('WG_FAILURE', `${where}: line 1 public key is not a WireGuard key`);
  }
  const listenPort = integer(where, 1, 'listen port', h[2]!);
  const peers = lines.slice(1).map((line, i) => parsePeerLine(where, i + 2, line));
  return { name: iface, publicKey: publicKey === NONE ? '' : detach(publicKey), listenPort, peers };
}

function parsePeerLine(where: string, n: number, line: string): WgPeer {
  const f = fields(where, line, n, 8);
  const [publicKey, psk, endpoint, allowed, handshake, rx, tx, keepalive] = f as [
    string, string, string, string, string, string, string, string,
  ];
  if (!isPublicKeyText(publicKey)) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} public key is not a WireGuard key`);
  }
  if (psk !== NONE && psk.length !== KEY_BASE64_CHARS) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} preshared key field has ${psk.length} characters`);
  }
  if (endpoint === '') throw new PqpskError('WG_FAILURE', `${where}: line ${n} endpoint is empty`);
  return {
    publicKey: detach(publicKey),
    hasPresharedKey: psk !== NONE,
    endpoint: endpoint === NONE ? null : detach(endpoint),
    allowedIps: allowed === NONE ? [] : allowed.split(',').map(detach),
    latestHandshake: integer(where, n, 'latest handshake', handshake),
    rxBytes: integer(where, n, 'transfer-rx', rx),
    txBytes: integer(where, n, 'transfer-tx', tx),
    persistentKeepalive: keepalive === 'off' ? null : integer(where, n, 'persistent keepalive', keepalive),
  };
}

function fields(where: string, line: string, n: number, expected: number): string[] {
  const f = line.split('\t');
  if (f.length !== expected) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} has ${f.length} fields, expected ${expected}`);
  }
  return f;
}

function integer(where: string, n: number, field: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) {
    throw new PqpskError('WG_FAILURE', `${where}: line ${n} ${field} is not a non-negative integer`);
  }
  return Number(text);
}
