#!/usr/bin/env node
/**
 * pqpsk command line. The only module that prints to the terminal or chooses an exit code.
 * Commands register themselves from src/cli/commands/*.ts; each loads its own modules
 * only when it runs (see commands/index.ts), so start-up stays cheap. The build bundles
 * this file into dist/src/cli/pqpsk.js, the installed `pqpsk` (scripts/bundle-cli.mjs).
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { EXIT_USAGE } from './exit-codes.js';

/**
 * pqpsk's version, from its own package.json (three folders above dist/src/cli/main.js).
 * Given to yargs explicitly: bundled (dist/src/cli/pqpsk.js), yargs cannot find the
 * package it is part of.
 */
function ownVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export async function main(argv: string[]): Promise<void> {
  let parser = yargs(argv)
    .scriptName('pqpsk')
    .usage('$0 <command> [options]\n\nQuantum-resistant pre-shared keys for existing WireGuard tunnels.')
    .strict()
    .demandCommand(1, 'Name a command; see the list above.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(ownVersion())
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
