/**
 * The one error a failed `wg` run becomes, because execa's own error message embeds the
 * child's output. It carries the command as it
 * may be shown (secret paths replaced by a placeholder) and the exit code, and a fixed
 * human reason picked by matching `wg`'s stderr. Neither stdout nor stderr is ever put
 * in the message or kept as `cause`: `wg show dump` prints private keys, and stderr can
 * echo a character of a key file ("Found trailing character in key file").
 */
import { PqpskError, type PqpskErrorCode } from '../errors.js';

/** A `wg` (or wrapper) failure: safe to log, print or send. */
export class WgError extends PqpskError {
  /** The command line with secrets replaced, e.g. `wg set wg0 private-key <secret channel>`. */
  readonly command: string;
  /** The process's exit code, or null when it was killed or never started. */
  readonly exitCode: number | null;

  constructor(code: PqpskErrorCode, reason: string, command: string, exitCode: number | null) {
    super(code, `${reason} (command: ${command}${exitCode === null ? '' : `, exit code ${exitCode}`})`);
    this.command = command;
    this.exitCode = exitCode;
  }
}

/** What the runner knows about a failed run; stderr is read here and nowhere kept. */
export interface FailedRun {
  readonly iface: string | null;
  readonly command: string;
  /** The program that was spawned first (`wg`, or `ip` when running in a namespace). */
  readonly program: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly timeoutMs: number;
  /** The spawn error code (ENOENT, EACCES) when the program could not start. */
  readonly spawnCode: string | null;
  readonly stderr: string;
}

/**
 * Maps a failed run to a WgError with a fixed reason. Pure: tests feed recorded stderr.
 * Missing interface: the kernel says "No such device"; with no kernel module and no
 * UAPI socket, wg reports "Protocol not supported" (netlink family absent).
 */
export function classifyFailure(run: FailedRun): WgError {
  const fail = (code: PqpskErrorCode, reason: string): WgError =>
    new WgError(code, reason, run.command, run.exitCode);
  if (run.spawnCode === 'ENOENT') {
    return fail('SETUP', missingProgram(run.program));
  }
  if (run.spawnCode !== null) {
    return fail('SETUP', `could not start \`${run.program}\` (${run.spawnCode})`);
  }
  if (run.timedOut) {
    return fail('TIMEOUT', `\`wg\` did not finish within ${run.timeoutMs} ms`);
  }
  if (run.signal !== null) {
    return fail('WG_FAILURE', `\`wg\` was killed by ${run.signal}`);
  }
  const err = run.stderr;
  const execFailed = /exec of "([^"]*)" failed: No such file or directory/.exec(err);
  if (execFailed !== null) {
    return fail('SETUP', missingProgram(execFailed[1] === 'wg' ? 'wg' : 'the program'));
  }
  if (/Cannot open network namespace/.test(err)) {
    return fail('NOT_FOUND', 'no such network namespace');
  }
  if (/Unable to (access|modify) interface: (No such device|Protocol not supported|No such file or directory)/.test(err)) {
    return fail('NOT_FOUND', `no such WireGuard interface ${run.iface ?? ''}`.trimEnd());
  }
  if (/Operation not permitted|Permission denied/.test(err)) {
    return fail('SETUP', 'permission denied: configuring WireGuard needs root (CAP_NET_ADMIN)');
  }
  if (/Invalid length key in key file|Found trailing character in key file|fopen/.test(err)) {
    return fail('WG_FAILURE', '`wg` could not read a key from the secret channel');
  }
  if (/Key is not the correct length or format/.test(err)) {
    return fail('INVALID_INPUT', '`wg` rejected a public key');
  }
  return fail('WG_FAILURE', '`wg` failed');
}

function missingProgram(program: string): string {
  switch (program) {
    case 'wg':
      return 'the `wg` program was not found on PATH; install wireguard-tools';
    case 'ip':
      return 'the `ip` program was not found on PATH; install iproute2';
    default:
      return `\`${program}\` was not found on PATH`;
  }
}
