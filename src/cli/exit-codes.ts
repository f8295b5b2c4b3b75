/**
 * The CLI's exit codes, in one place so scripts and wg-quick hooks can rely on them:
 * 0 success; 1 the operation ran and gave up (e.g. negotiation exhausted its attempts,
 * the tunnel left on a key that works); 2 usage or local set-up error; 3 gave up and the
 * tunnel does not work on any key pqpsk could put it on. Which code an error ends in is
 * its row of the error table (src/error-table.ts).
 */
import { meaningOf } from '../error-table.js';

export { EXIT_GAVE_UP, EXIT_OK, EXIT_TUNNEL_DOWN, EXIT_USAGE } from '../error-table.js';

/** Exit code for an error that reached the top of a command. */
export function exitCodeFor(err: unknown): number {
  return meaningOf(err).exit;
}
