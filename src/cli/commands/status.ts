/**
 * `pqpsk status --interface <if> [--json]`: whether the tunnel is post-quantum right now,
 * from the running watcher if any and from the interface itself. This file is loaded for
 * every pqpsk command, so it imports only yargs' types; the work is in status-run.ts.
 */
import type { Argv, CommandModule } from 'yargs';

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
      .option('peer', { type: 'string', describe: "Relay public key (default: the interface's only peer)" })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (fields in the README)' })
      .epilog(
        'Exit codes: 0 status read (protected or not: see the output); 2 no such interface or no `wg`.\n' +
          'JSON fields: interface, protected, state, publicKey, peer, pskFingerprint, latestHandshake,\n' +
          'negotiatedAt, nextRotationAt, rotations, recoveries, lastError, watcherPid.',
      ) as unknown as Argv<StatusArgs>,
  handler: async (args) => (await import('./status-run.js')).run(args),
};
