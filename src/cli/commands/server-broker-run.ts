/**
 * `pqpsk server` started as root: the privileged half. It finds `wg`/`nft` in the system
 * directories, gives the state directory to the relay user, starts the relay proper
 * (this same command) as that user — so the process that faces the network holds no
 * root uid and no capability — and serves it the typed `wg` requests of src/wg/broker.ts
 * over a socketpair. It stays until the relay exits, passes SIGTERM/SIGINT on, and exits
 * with the relay's code; if it dies, the relay stops too (it cannot change the interface
 * without it). The SaveConfig warning is given here: the wg-quick file is root's to read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { PqpskError, isPqpskError } from '../../errors.js';
import { DEFAULT_RELAY_USER, giveStateDir, lookupUser, type RelayUser } from '../../server/relay-user.js';
import { resolvePrograms, serveRelay } from '../../wg/broker.js';
import { EXIT_GAVE_UP, exitCodeFor } from '../exit-codes.js';
import { defaultConfigFile } from '../../client/config-file.js';
import { levelFilter, type Logger } from '../../server/log.js';
import { readSaveConfigLine, saveConfigHazard } from '../../wg/quick-file.js';
import type { ServerArgs } from './server.js';

/** The variable that tells the relay half which descriptor is its broker channel. */
export const BROKER_FD_VARIABLE = 'PQPSK_BROKER_FD';
const BROKER_FD = 3;

/** Run as the broker; returns only by exiting the process. */
export async function runBroker(argv: ServerArgs): Promise<void> {
  let relay;
  try {
    const programs = resolvePrograms();
    const user = await lookupUser(argv.user ?? DEFAULT_RELAY_USER);
    if (!argv.release) await warnSaveConfig(levelFilter(argv['log-level'], stdoutLogger()), argv.interface, argv['config-file']);
    await giveStateDir(argv['state-dir'], argv.interface, user);
    // Its own session: a terminal's Ctrl-C reaches the broker alone, which passes it on
    // once (a relay that saw it twice would stop without giving the parents back).
    relay = startRelay(user);
    const channel = relay.stdio[BROKER_FD] as Duplex | null;
    if (channel === null || channel === undefined) throw new Error('no broker channel');
    void serveRelay(channel, argv.interface, programs);
  } catch (err) {
    process.stderr.write(`pqpsk server: ${isPqpskError(err) ? err.message : `unexpected ${err instanceof Error ? err.name : 'error'}`}\n`);
    process.exit(exitCodeFor(err));
  }
  const child = relay;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => passOn(child.pid, signal));
  child.on('error', () => {
    process.stderr.write('pqpsk server: could not start the relay process\n');
    process.exit(EXIT_GAVE_UP);
  });
  child.on('exit', (code) => process.exit(code ?? EXIT_GAVE_UP));
}

/**
 * Starts the relay (this same command) as `user`. Switching to the user needs
 * CAP_SETUID and CAP_SETGID; without them (a unit whose CapabilityBoundingSet= lacks
 * them) spawn throws EPERM, which is a set-up error that says so.
 */
function startRelay(user: RelayUser): ChildProcess {
  try {
    return spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      detached: true,
      env: { ...process.env, [BROKER_FD_VARIABLE]: String(BROKER_FD) },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PqpskError(
      'SETUP',
      `cannot start the relay as ${user.name} (${code})${code === 'EPERM' ? '; it needs CAP_SETUID and CAP_SETGID (under systemd, in CapabilityBoundingSet=)' : ''}`,
      { cause: err },
    );
  }
}

/**
 * Sends `signal` on to the relay. The relay runs as another user, so this needs
 * CAP_KILL, which the shipped unit does not grant: there systemd signals every process of
 * the unit itself (KillMode=control-group), and the relay must hear SIGTERM once — a
 * second one stops it without giving the parents back. So EPERM is a note, not a failure:
 * the broker keeps serving the relay until it has given the parents back and exited.
 */
function passOn(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: the relay has just exited, and its exit ends the broker too.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return;
    process.stderr.write(`pqpsk server: ${signal} not passed on to the relay (EPERM, no CAP_KILL); it stops when its supervisor signals it too, as systemd does\n`);
  }
}

/**
 * One warning at start when the interface's wg-quick file has `SaveConfig = true`: on
 * `wg-quick down` wg-quick would write every ephemeral peer and its PSK into it.
 */
export async function warnSaveConfig(logger: Logger, iface: string, path: string | undefined): Promise<void> {
  const file = path ?? defaultConfigFile(iface);
  const line = await readSaveConfigLine(file);
  if (line !== null) logger.log('warn', { event: 'save-config', iface, hint: saveConfigHazard(file, line, 'relay') });
}

/** The relay's log: one JSON line per record on stdout (the broker and the relay share it). */
export function stdoutLogger(): Logger {
  return {
    log: (level, record) => {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...record })}\n`);
    },
  };
}
