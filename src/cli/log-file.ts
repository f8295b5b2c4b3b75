/**
 * `negotiate --background --log-file PATH`: where the detached watcher's output goes. The
 * parent opens the file and hands the descriptor to the child as its stdout and stderr,
 * so a file the parent may not write is refused while the parent can still say so
 * (exit 2), instead of a watcher that runs with its lines lost.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { PqpskError } from '../errors.js';

/**
 * Opens `path` for appending (created with mode 0600), never through a symlink: a log
 * written as root must not follow a link someone planted to a file they want clobbered.
 * A FIFO or device is refused (O_NONBLOCK keeps a FIFO without a reader from blocking
 * the open), and so is a file owned by another user or writable by group or others.
 * Returns the descriptor; the caller closes it once the child holds its copy.
 */
export function openLogFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new PqpskError('SETUP', `--log-file ${path}: ${code === 'ELOOP' ? 'is a symlink; give the real file' : code === 'ENXIO' ? 'not a regular file' : `cannot open (${code})`}`);
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new PqpskError('SETUP', `--log-file ${path}: not a regular file`);
    if (uid !== undefined && st.uid !== uid) throw new PqpskError('SETUP', `--log-file ${path}: owned by uid ${st.uid}, not by this process (uid ${uid})`);
    if ((st.mode & 0o022) !== 0) {
      throw new PqpskError('SETUP', `--log-file ${path}: writable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
