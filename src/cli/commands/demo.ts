/**
 * `pqpsk demo`: what it accepts and its help. This file is loaded for every pqpsk
 * command, so it imports only yargs' types; the work is in demo-run.ts, loaded by the
 * handler when this command runs.
 */
import type { Argv, CommandModule } from 'yargs';

/** The parsed options of `pqpsk demo`. */
export interface DemoArgs {
  multihop: boolean;
  keep: boolean;
}

/** The yargs module registered in index.ts; the handler loads the demo's modules. */
export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Build the namespace test bed, run server and negotiate on it, and show the result (needs root)',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('multihop', { type: 'boolean', default: false, describe: 'Nested multihop: entry and exit relays' })
      .option('keep', { type: 'boolean', default: false, describe: 'Leave the bed up until Ctrl-C' }) as unknown as Argv<DemoArgs>,
  handler: async (args) => (await import('./demo-run.js')).run(args),
};
