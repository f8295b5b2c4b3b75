/**
 * Reading peers' transfer counters: `wg show <iface> transfer`, which carries public keys
 * and byte counts only (never a key), so the client's watcher can tell a tunnel whose
 * traffic goes out and never comes back, and the relay which of two peers tied on a
 * handshake second the client sends on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PqpskError } from '../errors.js';
import { checkInterfaceName, type WgCommand } from './argv.js';
import { isPublicKeyText } from './keys.js';
import { runWg, type WgRunnerOptions } from './runner.js';

/** Received and sent bytes of one peer. */
export interface PeerTransfer {
  readonly rx: number;
  readonly tx: number;
}

/** `wg show <iface> transfer`: `<public key>\t<rx bytes>\t<tx bytes>` per peer. */
export function transferCommand(iface: string): WgCommand {
  checkInterfaceName(iface);
  const argv = ['show', iface, 'transfer'];
  return { argv, display: argv, secrets: [] };
}

/** Parse that output (pure); errors name the line, never its text. */
export function parseTransfer(iface: string, text: string): Map<string, PeerTransfer> {
  const out = new Map<string, PeerTransfer>();
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    const label = `\`wg show ${iface} transfer\` line ${i + 1}`;
    const f = line.split('\t');
    if (f.length !== 3) throw new PqpskError('WG_FAILURE', `${label}: expected three tab-separated fields`);
    if (!isPublicKeyText(f[0]!)) throw new PqpskError('WG_FAILURE', `${label}: not a public key`);
    const rx = Number(f[1]);
    const tx = Number(f[2]);
    if (!/^\d{1,20}$/.test(f[1]!) || !/^\d{1,20}$/.test(f[2]!)) throw new PqpskError('WG_FAILURE', `${label}: expected byte counts`);
    out.set(f[0]!, { rx, tx });
  }
  return out;
}

/**
 * The received bytes of `peers` alone from that output (pure): each key is looked up at a
 * line start in the bytes and only its line decoded and parsed, so an output of 10 000
 * peers (half a megabyte) costs a search per wanted key, not a decode and parse of every
 * line. Absent keys are left out.
 */
export function pickReceived(iface: string, output: Uint8Array, peers: ReadonlySet<string>): Map<string, number> {
  const bytes = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  const out = new Map<string, number>();
  for (const key of peers) {
    let at = 0;
    if (bytes.subarray(0, key.length + 1).toString('latin1') !== `${key}\t`) {
      const found = bytes.indexOf(`\n${key}\t`, 0, 'latin1');
      if (found < 0) continue;
      at = found + 1;
    }
    const end = bytes.indexOf(0x0a, at);
    const line = bytes.toString('latin1', at, end < 0 ? bytes.length : end);
    const counters = parseTransfer(iface, line).get(key);
    if (counters !== undefined) out.set(key, counters.rx);
  }
  return out;
}

/** The counters of `peer` on `iface`, or null when it has no such peer. */
export async function readTransfer(iface: string, peer: string, options: WgRunnerOptions = {}): Promise<PeerTransfer | null> {
  const bytes = await runWg(() => transferCommand(iface), iface, options);
  return parseTransfer(iface, new TextDecoder().decode(bytes)).get(peer) ?? null;
}

/**
 * The kernel's index of the network interface `iface` in this namespace, from sysfs:
 * unlike the name, it tells a deleted interface from one created since under the same
 * name (`wg-quick down && wg-quick up`). Null when there is no such interface; 0 when
 * sysfs cannot tell (not mounted), which callers treat as "unknown".
 */
export function interfaceIndex(iface: string): number | null {
  checkInterfaceName(iface);
  if (!existsSync('/sys/class/net')) return 0;
  try {
    const index = Number(readFileSync(`/sys/class/net/${iface}/ifindex`, 'latin1').trim());
    return Number.isSafeInteger(index) && index > 0 ? index : 0;
  } catch {
    return null;
  }
}

/**
 * The interface's own byte counters from sysfs (`statistics/rx_bytes`, `tx_bytes`): what
 * came out of the tunnel and what went into it, read without spawning anything. For an
 * interface with a single peer they are that peer's traffic. Null when sysfs does not
 * have them.
 */
export function readInterfaceCounters(iface: string): PeerTransfer | null {
  checkInterfaceName(iface);
  try {
    const rx = Number(readFileSync(`/sys/class/net/${iface}/statistics/rx_bytes`, 'latin1').trim());
    const tx = Number(readFileSync(`/sys/class/net/${iface}/statistics/tx_bytes`, 'latin1').trim());
    return Number.isSafeInteger(rx) && Number.isSafeInteger(tx) ? { rx, tx } : null;
  } catch {
    return null;
  }
}

/**
 * The interface's `statistics/rx_frame_errors` from sysfs (no spawn, no secret): Linux's
 * WireGuard adds one for each data packet it drops because its source address belongs, by
 * allowed-ips, to another peer (and does not count that packet on the peer that sent it).
 * wireguard-go drops such packets in user space and leaves it at 0. Null when sysfs does
 * not have it.
 */
export function readFrameErrors(iface: string): number | null {
  checkInterfaceName(iface);
  try {
    const n = Number(readFileSync(`/sys/class/net/${iface}/statistics/rx_frame_errors`, 'latin1').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}
