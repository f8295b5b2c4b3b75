import { isPqpskError } from '../errors.js';

/**
 * The CLI's exit codes, in one place so scripts and wg-quick hooks can rely on them:
 * 0 success; 1 the operation ran and gave up (e.g. negotiation exhausted its attempts,
 * the tunnel left on a key that works); 2 usage or local set-up error; 3 gave up and the
 * tunnel does not work on any key pqpsk could put it on.
 */
export const EXIT_OK = 0;
export const EXIT_GAVE_UP = 1;
export const EXIT_USAGE = 2;
export const EXIT_TUNNEL_DOWN = 3;

/** Exit code for an error that reached the top of a command. */
export function exitCodeFor(err: unknown): number {
  if (isPqpskError(err)) {
    switch (err.code) {
      case 'INVALID_INPUT':
      case 'UNSUPPORTED_ALGORITHM':
      case 'NOT_FOUND':
      case 'SETUP':
        return EXIT_USAGE;
      case 'TUNNEL_DOWN':
        return EXIT_TUNNEL_DOWN;
      default:
        return EXIT_GAVE_UP;
    }
  }
  return EXIT_GAVE_UP;
}
