/**
 * What `pqpsk status` does: read the watcher (if any) and the interface, print the verdict.
 * Loaded only when the command runs (see status.ts).
 */
import { messageOf } from '../../errors.js';
import { readTunnelStatus, type TunnelStatus } from '../../client/status.js';
import { RealWgControl } from '../../wg/real.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { StatusArgs } from './status.js';

/** The human form: one line of verdict, then one line per known fact. */
export function statusText(s: TunnelStatus): string {
  const lines = [
    `${s.interface}: ${s.protected ? 'post-quantum protected' : 'NOT post-quantum protected'} (${s.state === 'unwatched' ? (s.untrustedAnswer ? 'no trustworthy watcher answered; read from the interface only' : 'no watcher running') : `watcher pid ${s.watcherPid}, ${s.state}`})`,
    `  public key       ${s.publicKey ?? '(none)'}`,
    `  PSK fingerprint  ${s.pskFingerprint ?? pskNote(s)}`,
    `  latest handshake ${s.latestHandshake ?? 'never'}`,
    `  config service   ${s.configService ?? '(known to a running watcher only)'}`,
  ];
  if (s.state !== 'unwatched') {
    lines.push(
      `  negotiated at    ${s.negotiatedAt ?? '-'}`,
      `  next rotation    ${s.nextRotationAt ?? '-'}`,
      `  rotations        ${s.rotations ?? 0}, recoveries ${s.recoveries ?? 0}`,
      `  last error       ${s.lastError ?? '-'}`,
    );
  }
  return lines.join('\n');
}

/** The PSK line when no fingerprint is known: no PSK, pqpsk's own, or one pqpsk did not set. */
function pskNote(s: TunnelStatus): string {
  if (!s.psk) return '(no PSK)';
  if (s.pskOrigin === 'pqpsk') return '(a PSK is set; only the watcher that negotiated it knows its fingerprint)';
  return '(a PSK is set, but not by pqpsk on this key: a static or another tool\'s PSK, not known to be post-quantum)';
}

/** Read and print the status of the interface, set the exit code. */
export async function run(args: StatusArgs): Promise<void> {
  try {
    const status = await readTunnelStatus(args.interface, args.peer ?? null, { wg: new RealWgControl() });
    process.stdout.write(`${args.json ? JSON.stringify(status) : statusText(status)}\n`);
    process.exitCode = EXIT_OK;
  } catch (err) {
    process.stderr.write(`pqpsk status: ${messageOf(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
