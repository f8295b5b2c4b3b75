/**
 * `pqpsk status --interface <if> [--json]`: whether the tunnel is post-quantum right now,
 * from the running watcher if any and from the interface itself.
 */
import type { Argv, CommandModule } from 'yargs';
import { isPqpskError } from '../../errors.js';
import { readTunnelStatus, type TunnelStatus } from '../../client/status.js';
import { readPresharedKey } from '../../wg/psk-read.js';
import { RealWgControl } from '../../wg/real.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';

interface StatusArgs {
  interface: string;
  peer?: string;
  json: boolean;
}

/** The human form: one line of verdict, then one line per known fact. */
export function statusText(s: TunnelStatus): string {
  const lines = [
    `${s.interface}: ${s.protected ? 'post-quantum protected' : 'NOT post-quantum protected'} (${s.state === 'unwatched' ? 'no watcher running' : `watcher pid ${s.watcherPid}, ${s.state}`})`,
    `  public key       ${s.publicKey ?? '(none)'}`,
    `  PSK fingerprint  ${s.pskFingerprint ?? '(no PSK)'}`,
    `  latest handshake ${s.latestHandshake ?? 'never'}`,
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

/** The yargs module registered in index.ts. */
export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Is a tunnel post-quantum right now? (works with or without a running watcher)',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('interface', { alias: 'i', type: 'string', demandOption: true, describe: 'WireGuard interface' })
      .option('peer', { type: 'string', describe: "Relay public key (default: the interface's only peer)" })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (fields in the README)' })
      .epilog(
        'Exit codes: 0 status read (protected or not: see the output); 2 no such interface or no `wg`.\n' +
          'JSON fields: interface, protected, state, publicKey, peer, pskFingerprint, latestHandshake,\n' +
          'negotiatedAt, nextRotationAt, rotations, recoveries, lastError, watcherPid.',
      ) as unknown as Argv<StatusArgs>,
  handler: async (args) => {
    try {
      const status = await readTunnelStatus(args.interface, args.peer ?? null, {
        wg: new RealWgControl(),
        readPresharedKey: (iface, peer) => readPresharedKey(iface, peer),
      });
      process.stdout.write(`${args.json ? JSON.stringify(status) : statusText(status)}\n`);
      process.exitCode = EXIT_OK;
    } catch (err) {
      process.stderr.write(`pqpsk status: ${isPqpskError(err) ? err.message : 'unexpected error'}\n`);
      process.exitCode = exitCodeFor(err);
    }
  },
};
