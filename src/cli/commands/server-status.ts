/**
 * `pqpsk server status --interface <if> [--json]`: the relay operator's view of which
 * parents are on a post-quantum key. This file is loaded for every pqpsk command, so it
 * imports only yargs' types and modules that import nothing; the work is in
 * server-status-run.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_STATE_DIR } from '../../server/defaults.js';

/** The parsed options of `pqpsk server status`. */
export interface ServerStatusArgs {
  interface: string;
  'state-dir': string;
  json: boolean;
}

const EPILOG = `What it reads:
  The relay's book, <state-dir>/<interface>.book.json (which ephemeral peers the relay
  registered for which parent), read-only, and \`wg show <interface> allowed-ips\` and
  \`latest-handshakes\` — never \`dump\` or \`preshared-keys\`, so no secret is read. It
  takes no lock and never asks the relay: it gives the same answer while \`pqpsk server\`
  runs and when it does not (then the book is as the relay left it).

What it shows, per parent (each peer that is not one of the relay's ephemerals):
  on ephemeral   one of its ephemeral peers holds its addresses: its traffic is protected
                 by a post-quantum PSK. "parent key": it is not (never negotiated, or gone
                 back to its parent key).
  since          when that ephemeral was registered (it took the addresses at its first
                 handshake, soon after).
  handshake      the latest handshake of the parent or any of its ephemerals.
  addresses      the family's allowed-ips, wherever they are held now.
  waiting        ephemerals registered for it that hold nothing (not yet used, or kept
                 while a newer one took over).
  Then the totals. Parents on their parent key are listed first.

Exit codes: 0 shown; 2 no such interface, no \`wg\`, or a state directory that cannot be
trusted. JSON fields: interface, book, bookFound, bookProblems, parents[] (parent, onEphemeral,
ephemeral, ephemeralSince, lastHandshake, allowedIps, waitingEphemerals),
vanishedEphemerals, totals (parents, onEphemeral, onParentKey, ephemeralPeers).`;

/** Registered under `server` (server.ts); the handler loads the command's modules. */
export const serverStatusCommand: CommandModule<object, ServerStatusArgs> = {
  command: 'status',
  describe: 'Which parents are on a post-quantum ephemeral key right now (read-only; with or without a running relay)',
  builder: (yargs: Argv<object>) =>
    yargs
      .usage('$0 server status --interface <wg-if> [--json]')
      .option('interface', { alias: 'i', type: 'string', demandOption: true, describe: "The relay's WireGuard interface" })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'Where the relay keeps its book (as given to `pqpsk server`)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
      .epilog(EPILOG) as unknown as Argv<ServerStatusArgs>,
  handler: async (args) => (await import('./server-status-run.js')).run(args),
};
