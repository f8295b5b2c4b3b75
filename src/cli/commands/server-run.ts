/**
 * What `pqpsk server` does: run the EphemeralPeer relay service beside an existing
 * WireGuard interface. Checks the options, prints the relay's JSON log lines on stdout
 * and one clear line on stderr for a start-up failure, and turns SIGTERM/SIGINT into a
 * graceful stop. Loaded only when the command runs (see server.ts).
 */
import { PqpskError, isPqpskError } from '../../errors.js';
import { FileBookStore } from '../../server/book-store.js';
import { parseDuration } from '../duration.js';
import { defaultListenAddress, parseHostPort } from '../../server/listen.js';
import { levelFilter, type Logger } from '../../server/log.js';
import { startRelayService } from '../../server/service.js';
import { RealWgControl } from '../../wg/real.js';
import { EXIT_GAVE_UP, EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { ServerArgs } from './server.js';

/** Start the relay as the arguments say; returns only by exiting the process. */
export async function run(argv: ServerArgs): Promise<void> {
  const logger = levelFilter(argv['log-level'], stdoutLogger());
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
    const listen = argv.listen === undefined ? defaultListenAddress(argv.interface) : parseHostPort('--listen', argv.listen);
    const metrics = argv.metrics === undefined ? undefined : parseHostPort('--metrics', argv.metrics);
    service = await startRelayService({
      iface: argv.interface,
      listen,
      ...(metrics === undefined ? {} : { metrics }),
      wg: new RealWgControl(),
      store: new FileBookStore(argv['state-dir'], argv.interface),
      logger,
      ephemeralTtlMs,
      maxInflight,
      ...(workers === undefined ? {} : { hqcWorkers: workers }),
      hqcEngine: argv['hqc-engine'],
    });
  } catch (err) {
    fail(err);
  }
  const running = service;
  await new Promise<void>((resolve) => {
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
  try {
    await running.stop();
  } catch (err) {
    fail(err);
  }
  process.exit(EXIT_OK);
}

function stdoutLogger(): Logger {
  return {
    log: (level, record) => {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...record })}\n`);
    },
  };
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
