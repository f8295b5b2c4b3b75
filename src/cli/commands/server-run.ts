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
import { defaultConfigFile } from '../../client/config-file.js';
import { readSaveConfigLine, saveConfigHazard } from '../../wg/quick-file.js';
import { readNftRuleset, rulesetGuardsService } from '../../wg/nft.js';
import { RealWgControl } from '../../wg/real.js';
import { WgSpawner } from '../../wg/spawner.js';
import { EXIT_GAVE_UP, EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { ServerArgs } from './server.js';

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
  // Every `wg` command is started by a small helper process: forking the relay itself
  // would stall its event loop for milliseconds per command.
  const spawner = new WgSpawner();
  if (argv.release) await release(argv, logger, spawner);
  let service;
  try {
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
      wg: new RealWgControl({ launcher: spawner }),
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
  await warnSaveConfig(logger, argv.interface, argv['config-file']);
  // Runs beside the service: a slow `nft` must not delay serving or stopping.
  void warnWithoutFirewall(logger, argv.interface, running.address).catch(() => undefined);
  await stopRequested;
  try {
    await running.stop();
  } catch (err) {
    fail(err);
  }
  spawner.close();
  process.exit(EXIT_OK);
}

/**
 * `--release`: open the relay (which reconciles the interface with the book), give every
 * parent its addresses back and exit, without serving; ends the process.
 */
async function release(argv: ServerArgs, logger: Logger, spawner: WgSpawner): Promise<never> {
  try {
    const relay = await Relay.open({
      iface: argv.interface,
      wg: new RealWgControl({ launcher: spawner }),
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
  spawner.close();
  process.exit(EXIT_OK);
}

/**
 * One warning at start when the interface's wg-quick file has `SaveConfig = true`: on
 * `wg-quick down` wg-quick would write every ephemeral peer and its PSK into it.
 */
async function warnSaveConfig(logger: Logger, iface: string, path: string | undefined): Promise<void> {
  const file = path ?? defaultConfigFile(iface);
  const line = await readSaveConfigLine(file);
  if (line !== null) logger.log('warn', { event: 'save-config', iface, hint: saveConfigHazard(file, line, 'relay') });
}

function stdoutLogger(): Logger {
  return {
    log: (level, record) => {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...record })}\n`);
    },
  };
}

/**
 * One warning at start when nftables does not keep the service port inside the tunnel:
 * the relay still runs (many hosts filter elsewhere), but the operator hears of it.
 */
async function warnWithoutFirewall(logger: Logger, iface: string, address: string): Promise<void> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const ruleset = await readNftRuleset();
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
