/**
 * `pqpsk server`: what it accepts and its help. This file is loaded for every pqpsk
 * command, so it imports only yargs' types and modules that import nothing heavy; the
 * work is in server-run.ts, loaded by the handler when this command runs.
 */
import type { Argv, CommandModule } from 'yargs';
import { formatDuration } from '../duration.js';
import { DEFAULT_HQC_ENGINE, HQC_ENGINES, type HqcEngine } from '../../kem/hqc-engines.js';
import { DEFAULT_EPHEMERAL_TTL_MS, DEFAULT_MAX_INFLIGHT, DEFAULT_STATE_DIR, MIN_EPHEMERAL_TTL_MS, PENDING_TIMEOUT_MS } from '../../server/defaults.js';
import { DEFAULT_SERVICE_PORT } from '../../server/listen.js';
import { examplePath } from '../examples.js';
import { LOG_LEVELS, type LogLevel } from '../../server/log.js';
import { serverStatusCommand } from './server-status.js';
import { DEFAULT_RELAY_USER } from '../../server/relay-user.js';

/** The parsed options of `pqpsk server`. */
export interface ServerArgs {
  interface: string;
  listen: string | undefined;
  metrics: string | undefined;
  'ephemeral-ttl': string;
  'max-inflight': number;
  'log-level': LogLevel;
  'state-dir': string;
  'hqc-workers': number | undefined;
  'hqc-engine': HqcEngine;
  'allow-wide-parents': boolean;
  'rate-limit': string;
  'config-file': string | undefined;
  release: boolean;
  user: string | undefined;
}

const EPILOG = `How it works:
  Clients reach the service through their WireGuard tunnel. A request names a parent key
  (the client's peer on --interface); it is accepted only if its source address is routed
  to that peer (or to the peer's live ephemeral peer). The relay answers with KEM
  ciphertexts and adds an ephemeral peer whose preshared key only the client can derive.
  When the ephemeral peer handshakes, the parent's allowed-ips move to it; when the
  parent handshakes again they move back. Unused ephemeral peers are removed after
  ${formatDuration(PENDING_TIMEOUT_MS)} without a handshake; idle ones after --ephemeral-ttl.

KEMs:
  ML-KEM-1024, HQC-256 and Classic-McEliece-460896f-round3 (188-byte ciphertext), in any
  order and any combination a client sends; the PSK XORs their secrets (HQC-256's hashed
  with SHA-256 first). Kyber1024 is answered UNIMPLEMENTED. A request may be as large as
  its KEMs need (526 KB with a McEliece key) and no larger; so registrations in progress
  hold at most --max-inflight × 535 KB.

Listening:
  By default the service listens on the first IPv4 address of --interface, port
  ${DEFAULT_SERVICE_PORT}, so it is reachable only through the tunnel. It never listens on all
  addresses unless --listen says so (e.g. --listen 0.0.0.0:${DEFAULT_SERVICE_PORT}).

State:
  <state-dir>/<interface>.book.json (mode 0600) records which ephemeral peers belong to
  which parent: public keys and allowed-ips only, never a key that is secret. On start the
  relay reconciles the interface with it, so a crash leaves no orphaned peer.

Exposure:
  Linux accepts packets for the service address on any interface, so a host on the LAN or a
  local process can reach the service too; a peer with wide allowed-ips would then
  authenticate such a source. Such peers are refused as parents unless
  --allow-wide-parents, and the relay warns at start when nftables has no rule dropping the
  service port outside --interface (${examplePath('nftables-pqpsk.nft')} is one).

Observability:
  One JSON line per registration on stdout (key tags, algorithms, result, timings).
  --metrics serves /healthz (200 while serving, 503 while stopping) and /metrics in
  Prometheus text: pqpsk_registrations_total{result}, pqpsk_registration_duration_seconds,
  pqpsk_encapsulation_seconds{algorithm}, pqpsk_ephemeral_peers{state},
  pqpsk_swaps_total{direction}, pqpsk_expiries_total{reason}.

Stopping:
  SIGTERM/SIGINT: stop accepting, finish requests in flight, give every parent its
  allowed-ips back and remove the ephemeral peers (their clients go back to their parent
  keys and negotiate again once a relay runs), save the now empty state and exit 0 (a
  second signal exits at once with 1). --release does the same without serving: it
  reconciles the interface with the state file, gives everything back and exits — for
  decommissioning, or after a crash when no relay will run again. Stop the service
  before running it.

SaveConfig:
  wg-quick's SaveConfig = true would write the ephemeral peers and their PSKs into the
  interface's file on \`wg-quick down\`; the relay warns at start when --config-file
  (default /etc/wireguard/<interface>.conf) has it.

Privileges:
  Started as root, the process stays as a small broker that keeps CAP_NET_ADMIN and runs
  only typed \`wg\` requests for --interface (secret-free reads, \`wg set\` of peers' PSKs,
  allowed-ips and removals, the nftables read), with \`wg\`/\`nft\` from /usr/bin, /usr/sbin,
  /bin or /sbin; the relay that listens runs as --user (default ${DEFAULT_RELAY_USER}) with no
  capability, and owns --state-dir. Create the user first: useradd --system
  --no-create-home --shell /usr/sbin/nologin ${DEFAULT_RELAY_USER}. If either process dies, the
  other stops (exit 1).

Exit codes:
  Start-up problems (no such interface, no \`wg\`, no such --user, address in use,
  unreadable state file) print one line and exit 2. Needs root (CAP_NET_ADMIN) to change
  the interface.`;

/**
 * The relay's options are its own: `server status` must not list or require them. yargs
 * takes `global(keys, false)` for that, which its type declarations leave out.
 */
function ownOptions<T>(yargs: Argv<T>): Argv<T> {
  const keys = ['interface', 'user', 'listen', 'metrics', 'ephemeral-ttl', 'rate-limit', 'allow-wide-parents', 'max-inflight', 'log-level', 'state-dir', 'hqc-workers', 'hqc-engine'];
  return (yargs as unknown as { global(keys: readonly string[], global: boolean): Argv<T> }).global(keys, false);
}

/** The `server` subcommand; the handler loads the relay's modules. */
export const serverCommand: CommandModule<object, ServerArgs> = {
  command: 'server',
  describe: 'Run the post-quantum ephemeral-peer relay service for a WireGuard interface',
  builder: (yargs) =>
    ownOptions(yargs)
      .usage('$0 server --interface <wg-if> [options]\n\nRun the relay side of the ephemeral-peer protocol beside wg-quick.')
      .option('interface', {
        alias: 'i',
        type: 'string',
        demandOption: true,
        describe: 'The WireGuard interface whose peers may register ephemeral peers',
      })
      .option('listen', {
        type: 'string',
        describe: `ip:port for the gRPC service [default: the interface's IPv4 address, port ${DEFAULT_SERVICE_PORT}]`,
      })
      .option('metrics', { type: 'string', describe: 'ip:port for /metrics and /healthz (off unless given)' })
      .option('ephemeral-ttl', {
        type: 'string',
        default: formatDuration(DEFAULT_EPHEMERAL_TTL_MS),
        describe: `Remove an ephemeral peer after this long without a handshake (e.g. 10m, 24h; at least ${formatDuration(MIN_EPHEMERAL_TTL_MS)}, since WireGuard re-handshakes only every 2 minutes under traffic)`,
      })
      .option('rate-limit', {
        type: 'string',
        default: '6/12',
        describe: 'Registrations one parent may make back to back / per minute after that (BURST/PER_MINUTE)',
      })
      .option('allow-wide-parents', {
        type: 'boolean',
        default: false,
        describe: 'Let a peer whose allowed-ips are wider than one host (0.0.0.0/0, a site subnet) register; off: any source it routes could claim it',
      })
      .option('max-inflight', {
        type: 'number',
        default: DEFAULT_MAX_INFLIGHT,
        describe: 'Registrations processed at once; more are refused with RESOURCE_EXHAUSTED',
      })
      .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'Least severe log level printed' })
      .option('release', {
        type: 'boolean',
        default: false,
        describe: 'Do not serve: give every parent its allowed-ips back, remove the ephemeral peers, empty the state file and exit',
      })
      .option('config-file', {
        type: 'string',
        describe: "The interface's wg-quick file, read only for SaveConfig [default: /etc/wireguard/<interface>.conf]",
      })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'Directory for the relay book (given to --user at start)' })
      .option('user', {
        type: 'string',
        describe: `Started as root: the unprivileged user the network-facing relay runs as [default: ${DEFAULT_RELAY_USER}]`,
      })
      .option('hqc-workers', { type: 'number', describe: 'HQC-256 worker threads [default: one per CPU core]' })
      .option('hqc-engine', {
        choices: HQC_ENGINES,
        default: DEFAULT_HQC_ENGINE,
        describe: "HQC-256 build the workers run: pqpsk (the project's own, faster) or pqclean (the upstream reference)",
      })
      .command(serverStatusCommand)
      .epilog(EPILOG),
  // Started as root, this process becomes the privileged broker and runs the relay as
  // --user; the relay half (or a relay started without root) runs server-run.ts.
  handler: async (argv) =>
    process.getuid?.() === 0 && process.env['PQPSK_BROKER_FD'] === undefined
      ? (await import('./server-broker-run.js')).runBroker(argv)
      : (await import('./server-run.js')).run(argv),
};
