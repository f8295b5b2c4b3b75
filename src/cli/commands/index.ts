import type { CommandModule } from 'yargs';
import { demoCommand } from './demo.js';
import { negotiateCommand } from './negotiate.js';
import { serverCommand } from './server.js';
import { statusCommand } from './status.js';

/** Every pqpsk subcommand; each lives in its own file in this folder. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [negotiateCommand, statusCommand, serverCommand, demoCommand];
