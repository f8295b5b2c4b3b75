/**
 * `pqpsk negotiate`: what it accepts and its help. This file is loaded for every pqpsk
 * command, so it imports only yargs' types and modules that import nothing heavy; the
 * work is in negotiate-run.ts, loaded by the handler when this command runs.
 */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_CLIENT_KEMS } from '../../client/defaults.js';
import { DEFAULT_HQC_ENGINE, HQC_ENGINES, type HqcEngine } from '../../kem/hqc-engines.js';
import { examplePath } from '../examples.js';

/** Mullvad's relays serve the config service here, inside the tunnel. */
export const DEFAULT_SERVICE = '10.64.0.1:1337';
/**
 * The exit's config service: the same address, as on Mullvad's relays; `negotiate` routes
 * it through the exit's interface while it talks to the exit, then through the entry's.
 */
export const DEFAULT_EXIT_SERVICE = DEFAULT_SERVICE;
/** One-shot runs start no attempt after this long (8 + 16 + 32 + 48 s of attempts, then a cut one). */
export const DEFAULT_MAX_TIME = '2m';
/** How long --background waits at most for the first attempt before returning. */
export const DEFAULT_BACKGROUND_WAIT = '15s';

/** The parsed options of `pqpsk negotiate`. */
export interface NegotiateArgs {
  interface?: string;
  peer?: string;
  'config-service': string;
  entry?: string;
  exit?: string;
  'entry-peer'?: string;
  'exit-peer'?: string;
  'entry-service': string;
  'exit-service': string;
  kem: string;
  'hqc-engine': HqcEngine;
  'max-attempts'?: number;
  'verify-timeout': string;
  json: boolean;
  verbose: boolean;
  'mss-clamp': boolean;
  'timeout-scale': number;
  'hold-after-switch': number;
  'allow-other-peers': boolean;
  'max-time': string;
  watch: boolean;
  rotate: string;
  'config-file'?: string;
  background: boolean;
  'background-wait': string;
  'log-file'?: string;
  tick: string;
  'background-child': boolean;
}

const NEGOTIATE_EPILOG = `What it does:
  Reads the interface (its key is the parent key the relay knows), generates a fresh
  WireGuard key and fresh KEM keys (--kem; ML-KEM-1024 and HQC-256 by default), asks the
  relay's config service through the tunnel, derives the PSK, and switches the interface
  to the new key and PSK in one \`wg set\`. It then proves the tunnel works (a new
  handshake, then a TCP connect to the config service); if not, it rolls back to the
  parent key and tries again. Attempts time out after 8, 16, 32, then 48 s each, and a
  one-shot run stops starting attempts after --max-time (2m). Multihop negotiates the exit
  first (through both tunnels), then the entry; a failure rolls both back. Both relays
  answer on 10.64.0.1:1337, as Mullvad's do: while a hop runs, a host route sends that
  address through the hop's own interface, and the previous route comes back after.
  Before each request the route to the config service must leave through the hop's
  interface; otherwise the run stops (exit 2) rather than send the request outside the
  tunnel. The config-service connection uses 496-byte segments both ways (a host route
  with advmss 496 and mtu lock 536), as Mullvad's client does.

Watching (--watch):
  Stays in the foreground after the first switch. Rotates every --rotate (1h, ±10 %),
  make-before-break from the live ephemeral key; a relay that refuses that gets the
  request for the parent key, or, failing that, a switch back to the parent key first.
  When the relay stops answering the ephemeral key (traffic out, none back, no answer
  to a probe), goes back to the parent key and negotiates again. With the relay down,
  stays on the working parent key and retries with backoff, saying so.
  The parent key comes from --config-file (default /etc/wireguard/<if>.conf when it
  exists): a wg-quick file, a systemd-networkd .netdev (PrivateKey, or the file its
  PrivateKeyFile names) or a key file as \`wg genkey\` writes it. Only the key is read,
  nothing is ever written. A wg-quick file with SaveConfig = true is refused: wg-quick
  would write the ephemeral key over the parent key on down.
  SIGTERM/SIGINT: exit 0 on the current working key. SIGHUP: rotate now.
  --background: start the watcher detached, return once the first attempt settles (at
  most --background-wait) with exit 0 whatever the relay did: for wg-quick's PostUp.
  Its output is discarded unless --log-file PATH: then every line it writes, dated, is
  appended to PATH. The file is opened before the watcher starts, created with mode
  0600, never through a symlink (in PATH or a directory above it). A file that is not
  a regular file of this user with one link and closed to group and others, or a
  directory on the way that another user owns or may write, is refused with a warning,
  and the watcher runs without a log: PostUp never fails over the log.

When it fails:
  Each failed attempt prints one line at once (why, and when the next one starts); the
  last line says where the interface was left. What the reasons mean:
    nothing listening on IP:PORT     the relay's host answers, but no config service runs
                                     there: is \`pqpsk server\` running on it?
    no answer at all from IP:PORT    nothing came back. 10.64.0.1:1337, the default, is where
                                     Mullvad's relays answer; your own relay listens on its
                                     tunnel address: --config-service 10.8.0.1:1337, say.
    relay at IP:PORT refused …       the relay's own words (e.g. the parent key is not the
                                     peer this tunnel belongs to, or it is busy).

One manager per interface:
  A run holds a lock on the interface (freed by the kernel when it dies); a second run
  exits 2 naming the holder, unless the holder is on its way out (stopping, or its
  interface was deleted): then it waits up to 5 s for it. A watcher stops within a
  second of its interface being deleted, even in the middle of an attempt. \`pqpsk status --interface <if>\` reads a running watcher.

Secrets:
  Private keys and the PSK reach \`wg\` through a private FIFO, never argv or a file.
  Output shows only public keys and PSK fingerprints (first 8 bytes of SHA-256(PSK)).
  The interface's private key is read once per run (\`wg show <if> private-key\`), kept
  in memory for rollback and wiped; a PSK is never read back from WireGuard. So an
  interface that already has a PSK (an earlier run's ephemeral key) needs its parent key
  from --config-file (default /etc/wireguard/<if>.conf when it exists; otherwise exit
  2), and a failed switch from it goes back to that parent key.

Exit codes:
  0 switched and verified (--watch: stopped by SIGTERM/SIGINT; --background: watcher
  started); 1 gave up (the tunnel works: on the key it had if that still gets an answer,
  otherwise back on its parent key); 2 usage or local set-up error (bad option, no such
  interface, no \`wg\`, interface managed by another run, a wg-quick file with
  SaveConfig = true); 3 gave up and nothing answers even on the parent key.`;

/** The yargs module registered in index.ts; the handler loads the command's modules. */
export const negotiateCommand: CommandModule<object, NegotiateArgs> = {
  command: 'negotiate',
  describe: 'Negotiate a post-quantum PSK for a WireGuard tunnel (single hop or multihop) and switch to it; --watch keeps it rotated and healed',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('interface', { alias: 'i', type: 'string', describe: 'WireGuard interface (single hop)' })
      .option('peer', { type: 'string', describe: "Relay public key (default: the interface's only peer)" })
      .option('config-service', { type: 'string', default: DEFAULT_SERVICE, describe: "Config service ip:port inside the tunnel: Mullvad's by default; for your own relay its tunnel address, port 1337" })
      .option('entry', { type: 'string', describe: 'Multihop: the entry (outer) interface' })
      .option('exit', { type: 'string', describe: 'Multihop: the exit (inner) interface' })
      .option('entry-peer', { type: 'string', describe: "Multihop: entry relay public key (default: the only peer)" })
      .option('exit-peer', { type: 'string', describe: "Multihop: exit relay public key (default: the only peer)" })
      .option('entry-service', { type: 'string', default: DEFAULT_SERVICE, describe: "Multihop: entry relay's config service" })
      .option('exit-service', { type: 'string', default: DEFAULT_EXIT_SERVICE, describe: "Multihop: exit relay's config service (reached through --exit's interface)" })
      .option('kem', { type: 'string', default: DEFAULT_CLIENT_KEMS, describe: 'KEMs to offer, in order: ML-KEM-1024, HQC-256, Classic-McEliece-460896f-round3' })
      .option('hqc-engine', {
        choices: HQC_ENGINES,
        default: DEFAULT_HQC_ENGINE,
        describe: "HQC-256 build: pqpsk (the project's own, faster) or pqclean (the upstream reference)",
      })
      .option('max-attempts', { type: 'number', describe: 'Give up after this many attempts (default: until --max-time)' })
      .option('max-time', { type: 'string', default: DEFAULT_MAX_TIME, describe: 'One-shot: start no attempt after this long' })
      .option('verify-timeout', { type: 'string', default: '10s', describe: 'How long a switched tunnel has to prove it works' })
      .option('watch', { type: 'boolean', default: false, describe: 'Stay running: rotate, heal, keep the tunnel post-quantum' })
      .option('rotate', { type: 'string', default: '1h', describe: 'With --watch: rotation period (±10 %), or off' })
      .option('config-file', { type: 'string', describe: 'Where the parent private key is: a wg-quick file, a systemd-networkd .netdev (PrivateKey or PrivateKeyFile) or a wg genkey key file (default /etc/wireguard/<if>.conf if present)' })
      .option('background', { type: 'boolean', default: false, describe: 'Start the watcher detached; return 0 once the first attempt settles (for PostUp)' })
      .option('background-wait', { type: 'string', default: DEFAULT_BACKGROUND_WAIT, describe: 'With --background: return after this long at most' })
      .option('log-file', { type: 'string', describe: "With --background: append the watcher's output to this file (created 0600; a symlink or a file others could steer is refused, with a warning)" })
      .option('allow-other-peers', { type: 'boolean', default: false, describe: 'With --peer: switch an interface that has other peers too (their tunnels break)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (times in milliseconds, rounded to 0.1 ms)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Print each step on stderr' })
      .option('mss-clamp', { type: 'boolean', default: true, describe: 'Small TCP segments both ways for the config service during negotiation (--no-mss-clamp to disable)' })
      .usage(
        '$0 negotiate --interface <wg-if> [options]\n$0 negotiate --entry <wg-if> --exit <wg-if> [options]\n$0 negotiate --interface <wg-if> --watch [--rotate 1h] [--config-file /etc/wireguard/<wg-if>.conf]\n\n' +
          `As a service beside wg-quick: ${examplePath('systemd/pqpsk-negotiate@.service')}. As a wg-quick hook: PostUp = pqpsk negotiate --interface %i --watch --background`,
      )
      .epilog(NEGOTIATE_EPILOG)
      .option('timeout-scale', { type: 'number', default: 1, hidden: true })
      .option('hold-after-switch', { type: 'number', default: 0, hidden: true })
      .option('tick', { type: 'string', default: '2s', hidden: true })
      .option('background-child', { type: 'boolean', default: false, hidden: true }) as unknown as Argv<NegotiateArgs>,
  handler: async (args) => (await import('./negotiate-run.js')).run(args),
};
