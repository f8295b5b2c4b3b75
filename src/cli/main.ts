#!/usr/bin/env node
/**
 * pqpsk command line. The only module that prints to the terminal or chooses an exit code.
 * Commands register themselves from src/cli/commands/*.ts.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { EXIT_USAGE } from './exit-codes.js';

export async function main(argv: string[]): Promise<void> {
  let parser = yargs(argv)
    .scriptName('pqpsk')
    .usage('$0 <command> [options]\n\nQuantum-resistant pre-shared keys for existing WireGuard tunnels.')
    .strict()
    .demandCommand(1, 'Name a command; see the list above.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`pqpsk: ${msg}\nRun 'pqpsk --help' for usage.\n`);
      process.exit(EXIT_USAGE);
    });
  for (const command of commands) parser = parser.command(command);
  await parser.parseAsync();
}

await main(hideBin(process.argv));
