/**
 * The client's read of its interface: `wg show <iface>`, the form for people, which
 * prints private keys and PSKs as `(hidden)`. Pure: bytes in, the interface's public key
 * and its peers out (whether each has a PSK, never its value).
 */
import { PqpskError } from '../errors.js';
import { isPublicKeyText } from './keys.js';
import { NEWLINE, detach } from './parse-text.js';
import type { WgInterfaceSummary, WgPeerSummary } from './types.js';

/**
 * Parses `wg show <iface>` (the form for people) for what the client needs: the
 * interface's public key, its peers and whether each has a PSK. wg prints a private key
 * or PSK there as `(hidden)` unless told otherwise; a line that shows a key's value
 * instead makes the whole output wiped and refused, so a key never becomes a string.
 */
export function parseSummary(iface: string, bytes: Uint8Array): WgInterfaceSummary {
  const where = `\`wg show ${iface}\` output`;
  let line = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    line++;
    for (const label of SECRET_LABELS) {
      if (startsWithAt(bytes, start, end, label) && !startsWithAt(bytes, start + label.length, end, HIDDEN, true)) {
        bytes.fill(0);
        throw new PqpskError('WG_FAILURE', `${where}: line ${line} shows a key instead of ${HIDDEN} (WG_HIDE_KEYS=never?)`);
      }
    }
    start = end + 1;
  }
  const lines = new TextDecoder().decode(bytes).split('\n');
  if (!lines[0]?.startsWith('interface: ')) throw new PqpskError('WG_FAILURE', `${where}: line 1 is not an interface line`);
  let publicKey = '';
  const peers: WgPeerSummary[] = [];
  let peer: { publicKey: string; hasPresharedKey: boolean } | null = null;
  for (const [i, text] of lines.entries()) {
    if (text.startsWith('peer: ')) {
      const key = text.slice('peer: '.length);
      if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `${where}: line ${i + 1} public key is not a WireGuard key`);
      peer = { publicKey: detach(key), hasPresharedKey: false };
      peers.push(peer);
    } else if (peer === null && text.startsWith('  public key: ')) {
      const key = text.slice('  public key: '.length);
      if (!isPublicKeyText(key)) throw new PqpskError('WG_FAILURE', `${where}: line ${i + 1} public key is not a WireGuard key`);
      publicKey = detach(key);
    } else if (peer !== null && text.startsWith(PSK_LABEL)) {
      peer.hasPresharedKey = true;
    }
  }
  return { name: iface, publicKey, peers };
}

const HIDDEN = '(hidden)';
const PSK_LABEL = '  preshared key: ';
const SECRET_LABELS = ['  private key: ', PSK_LABEL];

/** Whether `bytes[start, end)` begins with `text` (or, `whole`, is exactly `text`). */
function startsWithAt(bytes: Uint8Array, start: number, end: number, text: string, whole = false): boolean {
  if (end - start < text.length || (whole && end - start !== text.length)) return false;
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return true;
}
