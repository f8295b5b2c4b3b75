/**
 * How `negotiate --background` starts its detached watcher, a long-lived process that
 * holds the parent private key and the current PSK in memory, so that memory ends up
 * nowhere else: no core dump, no working directory it keeps busy, no file others can
 * read, no environment it does not need.
 *
 * No core. Node has no setrlimit() and no prctl(PR_SET_DUMPABLE), so the limit is set
 * before the watcher's own program runs: it is started through util-linux's `prlimit`,
 * which sets the limit and execs the command (the pid stays the watcher's). Its argv
 * is the user's own command line, which never carries a secret. The limit is 1 byte,
 * not 0: with a pipe in kernel.core_pattern (systemd-coredump, apport) the kernel runs
 * the handler whatever RLIMIT_CORE says — and Debian's systemd-coredump is told the
 * limit is infinite — except when it is exactly 1, which the kernel treats as "no core";
 * and 1 byte is below the page a core file needs, so none is written either. Soft and
 * hard are both 1, so the watcher cannot raise it back without CAP_SYS_RESOURCE.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { PqpskError } from '../errors.js';

/** What the watcher keeps of the caller's environment: where programs are, the locale and time zone, and pqpsk's own settings. */
export function watcherEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (KEPT.has(name) || name.startsWith('PQPSK_'))) kept[name] = value;
  }
  return kept;
}

const KEPT = new Set(['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ']);

/**
 * Spawns `command args` detached, with RLIMIT_CORE 1 (see above), `/` as working
 * directory (a core or a busy mount point would otherwise land in, or pin, wherever the
 * caller stood), umask 077, and the trimmed environment. A missing `prlimit` surfaces
 * as the child's 'error' event with code ENOENT, as does a lack of descriptors
 * (EMFILE); a start failure Node throws instead becomes a SETUP error.
 */
export function spawnDetached(command: string, args: readonly string[], stdio: StdioOptions): ChildProcess {
  // The umask is inherited at fork; Node sets no other one for a child.
  const previous = process.umask(0o077);
  try {
    return spawn('prlimit', ['--core=1:1', '--', command, ...args], { detached: true, cwd: '/', env: watcherEnvironment(process.env), stdio });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    throw new PqpskError('SETUP', `could not start the watcher (${typeof code === 'string' ? code : 'unknown error'})`);
  } finally {
    process.umask(previous);
  }
}
