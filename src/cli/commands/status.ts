/**
 * `pqpsk status --interface <if> [--json]`: whether the tunnel is post-quantum right now,
 * from the running watcher if any and from the interface itself. This file is loaded for
 * every pqpsk command, so it imports only yargs' types; the work is in status-run.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { REJECT_AFTER_MS } from '../../protocol/wireguard.js';

/** The parsed options of `pqpsk status`. */
export interface StatusArgs {
  interface: string;
  peer?: string;
  json: boolean;
}

/** The yargs module registered in index.ts; the handler loads the command's modules. */
export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Is a tunnel post-quantum right now? (works with or without a running watcher)',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('interface', { alias: 'i', type: 'string', demandOption: true, describe: 'WireGuard interface' })
      .option('peer', { type: 'string', describe: "Relay public key (default: the interface's only peer; needed when it has several)" })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (fields in the README)' })
      .epilog(
        `Protected: on an ephemeral key with a PSK and a handshake within ${REJECT_AFTER_MS / 1000} s (and, with a watcher, its verdict).\n` +
          'The PSK fingerprint and the config service come from a running watcher; without one, only whether a PSK is set.\n' +
          'Exit codes: 0 status read (protected or not: see the output); 2 no such interface or peer, several peers\n' +
          'and no --peer (the error lists their public keys), or no `wg`.\n' +
          'JSON fields: interface, protected, state, publicKey, peer, psk, pskFingerprint, configService,\n' +
          'latestHandshake, negotiatedAt, nextRotationAt, rotations, recoveries, lastError, watcherPid.',
      ) as unknown as Argv<StatusArgs>,
  handler: async (args) => (await import('./status-run.js')).run(args),
};
