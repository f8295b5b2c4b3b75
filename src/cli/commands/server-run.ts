/**
 * What `pqpsk server` does: run the EphemeralPeer relay service beside an existing
 * WireGuard interface. Checks the options, prints the relay's JSON log lines on stdout
 * and one clear line on stderr for a start-up failure, and turns SIGTERM/SIGINT into a
 * graceful stop. Loaded only when the command runs (see server.ts).
 */
import { PqpskError, isPqpskError } from '../../errors.js';
import { FileBookStore } from '../../server/file-book-store.js';
import { formatDuration, parseDuration } from '../duration.js';
import { MIN_EPHEMERAL_TTL_MS } from '../../server/defaults.js';
import { defaultListenAddress, parseHostPort } from '../../server/listen.js';
import { examplePath } from '../examples.js';
import { levelFilter, type Logger } from '../../server/log.js';
import { Relay } from '../../server/relay.js';
import { startRelayService } from '../../server/service.js';
import { readNftRuleset, rulesetGuardsService } from '../../wg/nft.js';
import { RealWgControl } from '../../wg/real.js';
import { WgSpawner } from '../../wg/spawner.js';
import { BrokerClient } from '../../wg/broker-client.js';
import { checkUnprivileged } from '../../server/relay-user.js';
import { Socket } from 'node:net';
import { EXIT_GAVE_UP, EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { ServerArgs } from './server.js';
import { BROKER_FD_VARIABLE, stdoutLogger, warnSaveConfig } from './server-broker-run.js';

/** Start the relay as the arguments say; returns only by exiting the process. */
export async function run(argv: ServerArgs): Promise<void> {
  const logger = levelFilter(argv['log-level'], stdoutLogger());
  // Signals are caught from the start: one that arrives while the relay is still starting
  // (or while the firewall check runs) stops it cleanly once it is up, rather than
  // killing it half-way through its first reconciliation.
  const stopRequested = new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        process.stderr.write(`pqpsk server: ${signal} again, exiting without finishing\n`);
        process.exit(EXIT_GAVE_UP);
      }
      signalled = true;
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Under a root `pqpsk server` this is the unprivileged relay, and its privileged
  // parent (server-broker-run.ts) runs every `wg` command for it. Otherwise (started without
  // root, e.g. with CAP_NET_ADMIN alone) every `wg` command is started by a small helper
  // process: forking the relay itself would stall its event loop for milliseconds per command.
  const broker = brokerChannel(argv.interface);
  const spawner = broker === undefined ? new WgSpawner() : undefined;
  const wg = (): RealWgControl => new RealWgControl(spawner === undefined ? {} : { launcher: spawner }, broker);
  if (argv.release) await release(argv, logger, wg, spawner);
  let service;
  try {
    if (broker !== undefined) await checkUnprivileged();
    const maxInflight = argv['max-inflight'];
    if (!Number.isInteger(maxInflight) || maxInflight < 1) {
      throw usage(`--max-inflight: expected a whole number ≥ 1, got ${String(maxInflight)}`);
    }
    const workers = argv['hqc-workers'];
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 256)) {
      throw usage(`--hqc-workers: expected a whole number from 1 to 256, got ${String(workers)}`);
    }
    const ephemeralTtlMs = parseDuration('--ephemeral-ttl', argv['ephemeral-ttl']);
    if (ephemeralTtlMs < MIN_EPHEMERAL_TTL_MS) {
      throw usage(
        `--ephemeral-ttl: at least ${formatDuration(MIN_EPHEMERAL_TTL_MS)}: it counts time since the last handshake, and WireGuard re-handshakes only every 2 minutes under traffic, so a shorter TTL removes busy tunnels`,
      );
    }
    const listen = argv.listen === undefined ? defaultListenAddress(argv.interface) : parseHostPort('--listen', argv.listen);
    const metrics = argv.metrics === undefined ? undefined : parseHostPort('--metrics', argv.metrics);
    service = await startRelayService({
      iface: argv.interface,
      listen,
      ...(metrics === undefined ? {} : { metrics }),
      wg: wg(),
      store: new FileBookStore(argv['state-dir'], argv.interface),
      logger,
      ephemeralTtlMs,
      maxInflight,
      ...(workers === undefined ? {} : { hqcWorkers: workers }),
      hqcEngine: argv['hqc-engine'],
      allowWideParents: argv['allow-wide-parents'],
      rateLimit: parseRateLimit(argv['rate-limit']),
    });
  } catch (err) {
    fail(err);
  }
  const running = service;
  // The broker gave this warning already: the wg-quick file is root's to read.
  if (broker === undefined) await warnSaveConfig(logger, argv.interface, argv['config-file']);
  // Runs beside the service: a slow `nft` must not delay serving or stopping.
  const ruleset = broker === undefined ? readNftRuleset : () => broker.nftRuleset();
  void warnWithoutFirewall(logger, argv.interface, running.address, ruleset).catch(() => undefined);
  await stopRequested;
  try {
    await running.stop();
  } catch (err) {
    fail(err);
  }
  spawner?.close();
  process.exit(EXIT_OK);
}

/**
 * The channel to the privileged broker this relay was started with, or undefined when it
 * runs on its own. The relay cannot change its interface without the broker: when the
 * broker goes away it exits at once (exit 1), and the book, written ahead of every
 * change, lets the next start reconcile.
 */
function brokerChannel(iface: string): BrokerClient | undefined {
  const fd = process.env[BROKER_FD_VARIABLE];
  if (fd === undefined) return undefined;
  delete process.env[BROKER_FD_VARIABLE];
  const client = new BrokerClient(new Socket({ fd: Number(fd), readable: true, writable: true }), iface);
  void client.closed.then(() => {
    process.stderr.write('pqpsk server: the privileged broker exited; the relay stops (the next start reconciles the interface with the book)\n');
    process.exit(EXIT_GAVE_UP);
  });
  return client;
}

/**
 * `--release`: open the relay (which reconciles the interface with the book), give every
 * parent its addresses back and exit, without serving; ends the process.
 */
async function release(argv: ServerArgs, logger: Logger, wg: () => RealWgControl, spawner: WgSpawner | undefined): Promise<never> {
  try {
    const relay = await Relay.open({
      iface: argv.interface,
      wg: wg(),
      store: new FileBookStore(argv['state-dir'], argv.interface),
      logger,
      // Nothing is served, so nothing is encapsulated.
      kems: () => {
        throw new PqpskError('INTERNAL', 'a released relay encapsulates nothing');
      },
    });
    await relay.close();
  } catch (err) {
    fail(err);
  }
  spawner?.close();
  process.exit(EXIT_OK);
}

/**
 * One warning at start when nftables does not keep the service port inside the tunnel:
 * the relay still runs (many hosts filter elsewhere), but the operator hears of it.
 */
async function warnWithoutFirewall(logger: Logger, iface: string, address: string, read: () => Promise<string | null>): Promise<void> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const ruleset = await read();
  if (ruleset !== null && rulesetGuardsService(ruleset, iface, port)) return;
  logger.log('warn', {
    event: 'firewall-unguarded',
    iface,
    port,
    hint:
      ruleset === null
        ? `could not read the nftables ruleset; make sure only the WireGuard interface reaches the service port (see ${examplePath('nftables-pqpsk.nft')})`
        : `no nftables rule drops tcp port ${port} outside ${iface}: a LAN host or local process can reach the service (see ${examplePath('nftables-pqpsk.nft')})`,
  });
}

/** `BURST/PER_MINUTE`, e.g. `6/12`: whole numbers ≥ 1. */
function parseRateLimit(text: string): { burst: number; perSecond: number } {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  if (m === null || Number(m[1]) < 1 || Number(m[2]) < 1) {
    throw usage(`--rate-limit: expected BURST/PER_MINUTE with whole numbers ≥ 1, such as 6/12, got ${JSON.stringify(text.slice(0, 20))}`);
  }
  return { burst: Number(m[1]), perSecond: Number(m[2]) / 60 };
}

function usage(message: string): PqpskError {
  return new PqpskError('INVALID_INPUT', message);
}

/** One line on stderr, then the exit code of the error (2 for set-up and usage problems). */
function fail(err: unknown): never {
  const message = isPqpskError(err) ? err.message : `unexpected ${err instanceof Error ? err.name : 'error'}`;
  process.stderr.write(`pqpsk server: ${message}\n`);
  process.exit(exitCodeFor(err));
}
