/**
 * Pure builders for `wg` argument vectors. Everything a caller passes is checked here,
 * before any process exists, with labelled errors that name the field (never a value
 * that could be secret). Secret keys never appear in an argv: a builder names a path
 * on the secret channel (see secret-channel.ts) and returns the key beside it.
 */
import { PqpskError, checkLength } from '../errors.js';
import { canonicalCidr } from '../protocol/ip.js';
import { KEY_BYTES } from '../protocol/wireguard.js';
import { checkPublicKeyText } from './keys.js';
import type { WgPeerChange } from './types.js';

/** What `wg` reads to clear a PSK: an empty file means "no preshared key". */
export const CLEAR_PSK_PATH = '/dev/null';

/** Shown instead of a secret-channel path in any message or log. */
export const SECRET_PLACEHOLDER = '<secret channel>';

/** One secret to hand to `wg` through the FIFO at `path`. `key` is the caller's array (not copied). */
export interface SecretSlot {
  readonly path: string;
  /** Names the secret in errors, e.g. "private key", "preshared key of peer 2". */
  readonly label: string;
  readonly key: Uint8Array;
}

/** An argv for `wg` and its printable form (secret paths replaced by a placeholder). */
export interface WgCommand {
  readonly argv: readonly string[];
  readonly display: readonly string[];
  readonly secrets: readonly SecretSlot[];
}

/**
 * Linux interface names are at most 15 bytes (IFNAMSIZ - 1); we accept the character
 * set wg-quick accepts, which also keeps UAPI socket paths (`/var/run/wireguard/<name>.sock`) tame.
 */
export function checkInterfaceName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_=+.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    const got = typeof name === 'string' ? `${name.length} characters` : typeof name;
    throw new PqpskError(
      'INVALID_INPUT',
      `interface name: expected 1-15 characters from [A-Za-z0-9_=+.-], got ${got}`,
    );
  }
}

/** `wg show <iface> dump`: interface line then one line per peer, tab-separated. */
export function showDumpCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface, 'dump']);
}

/**
 * `wg show <iface>`, the form meant for people: the interface's public key and, per peer,
 * whether a PSK is set — printed as `(hidden)`, never its value, unless the environment
 * says WG_HIDE_KEYS=never (the runner sets it to `always`, and the parser refuses a key).
 */
export function showCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface]);
}

/** `wg show <iface> latest-handshakes`: `<public key>\t<unix seconds>` per peer. */
export function latestHandshakesCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface, 'latest-handshakes']);
}

/** `wg show <iface> allowed-ips`: `<public key>\t<cidr> <cidr>…` (or `(none)`) per peer. */
export function allowedIpsCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface, 'allowed-ips']);
}

/** `wg show <iface> public-key`: the interface's own public key, or `(none)`. */
export function publicKeyCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface, 'public-key']);
}

/** `wg show <iface> private-key`: the only read that returns a secret (on stdout). */
export function privateKeyCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  return plain(['show', iface, 'private-key']);
}

/** `wg set <iface> listen-port <port>` (0 lets WireGuard choose). */
export function listenPortCommand(iface: string, port: number): WgCommand {
  checkInterfaceName(iface);
  checkPort('listen port', port);
  return plain(['set', iface, 'listen-port', String(port)]);
}

/**
 * `wg set <iface> [private-key P] [peer K [remove] [preshared-key P] [endpoint E]
 * [persistent-keepalive N] [allowed-ips L]]...` as one invocation, so a private key and
 * the PSKs that go with it change together. Secret paths are `<secretDir>/<n>`.
 */
export function setCommand(
  iface: string,
  change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] },
  secretDir: string,
): WgCommand {
  checkInterfaceName(iface);
  const argv: string[] = ['set', iface];
  const display: string[] = ['set', iface];
  const secrets: SecretSlot[] = [];
  const secret = (label: string, key: Uint8Array): void => {
    checkLength(label, key, KEY_BYTES);
    // WireGuard reads 32 zero bytes as "no key": a PSK that is all zero (an empty or
    // wiped buffer by mistake) would silently drop the post-quantum protection.
    if (label.endsWith('preshared key') && key.every((b) => b === 0)) {
      throw new PqpskError('INVALID_INPUT', `${label}: all zero (WireGuard would read it as no preshared key)`);
    }
    const path = `${secretDir}/${secrets.length}`;
    secrets.push({ path, label, key });
    argv.push(path);
    display.push(SECRET_PLACEHOLDER);
  };
  const both = (...words: string[]): void => {
    argv.push(...words);
    display.push(...words);
  };

  if (change.privateKey !== undefined) {
    both('private-key');
    secret('private key', change.privateKey);
  }
  const peers = change.peers ?? [];
  if (!Array.isArray(peers)) throw new PqpskError('INVALID_INPUT', 'peers: expected an array');
  peers.forEach((peer, i) => {
    const where = `peer ${i + 1}`;
    checkPublicKeyText(`${where} public key`, peer.publicKey);
    both('peer', peer.publicKey);
    if (peer.remove === true) {
      both('remove');
      return;
    }
    if (peer.presharedKey === null) {
      both('preshared-key', CLEAR_PSK_PATH);
    } else if (peer.presharedKey !== undefined) {
      both('preshared-key');
      secret(`${where} preshared key`, peer.presharedKey);
    }
    if (peer.endpoint !== undefined) {
      checkEndpoint(`${where} endpoint`, peer.endpoint);
      both('endpoint', peer.endpoint);
    }
    if (peer.persistentKeepalive !== undefined) {
      checkPort(`${where} persistent keepalive`, peer.persistentKeepalive);
      both('persistent-keepalive', peer.persistentKeepalive === 0 ? 'off' : String(peer.persistentKeepalive));
    }
    if (peer.allowedIps !== undefined) {
      if (!Array.isArray(peer.allowedIps as unknown)) {
        throw new PqpskError('INVALID_INPUT', `${where} allowed-ips: expected an array`);
      }
      const ips: readonly string[] = peer.allowedIps;
      const list = ips.map((ip: string, j: number) => canonicalCidr(`${where} allowed-ip ${j + 1}`, ip));
      both('allowed-ips', list.join(','));
    }
  });
  return { argv, display, secrets };
}

/** The command as one line for messages: `wg set wg0 private-key <secret channel> …`. */
export function describeCommand(display: readonly string[], prefix: readonly string[] = ['wg']): string {
  return [...prefix, ...display].map((w) => (w === '' ? '""' : w)).join(' ');
}

/** `host:port`, `[v6]:port` or `name:port`, the forms `wg set … endpoint` accepts. */
export function checkEndpoint(label: string, endpoint: string): void {
  const m = typeof endpoint === 'string' ? /^(\[[0-9A-Za-z:.%_-]+\]|[0-9A-Za-z.-]+):(\d{1,5})$/.exec(endpoint) : null;
  if (m === null || Number(m[2]) > 65535 || Number(m[2]) === 0) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected host:port or [ipv6]:port`);
  }
}

function checkPort(label: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new PqpskError('INVALID_INPUT', `${label}: expected an integer 0..65535`);
  }
}

function plain(argv: string[]): WgCommand {
  return { argv, display: argv, secrets: [] };
}
