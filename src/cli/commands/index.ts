/** The list of pqpsk's subcommands, in the order `pqpsk --help` shows them. */
import type { CommandModule } from 'yargs';
import { demoCommand } from './demo.js';
import { negotiateCommand } from './negotiate.js';
import { serverCommand } from './server.js';
import { statusCommand } from './status.js';

/**
 * Every pqpsk subcommand. Each is two files in this folder, so that a command loads only
 * what it uses and `pqpsk --help` loads none of it (pqpsk runs inside `wg-quick up`):
 * - `<name>.ts`: the yargs module — options, help text, and a handler that is one line,
 *   `(await import('./<name>-run.js')).run(args)`. Loaded for every command, so it imports
 *   yargs' types and modules that import nothing (defaults live in such modules, e.g.
 *   src/server/defaults.ts, src/client/defaults.ts);
 * - `<name>-run.ts`: what the command does, with every import it needs.
 * test/cli/lazy-load.test.ts follows the static imports from main.ts and fails when one
 * reaches a package or module the help text does not need.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [negotiateCommand, statusCommand, serverCommand, demoCommand];
