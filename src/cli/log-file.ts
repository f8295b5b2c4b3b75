/**
 * `negotiate --background --log-file PATH`: where the detached watcher's output goes. The
 * parent opens the file and hands the descriptor to the child as its stdout and stderr.
 * A log that cannot be used safely is refused with one line on stderr, and the watcher
 * runs without it: a wg-quick PostUp must never fail (and take the interface down) over
 * a log file, which another local user could otherwise arrange by planting one.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { PqpskError } from '../errors.js';
import { untrustedBecause } from '../fs-checks.js';

/**
 * Opens `path` for appending (created with mode 0600), refusing anything another user
 * could have steered: every directory on the way must be a real directory (no symlink)
 * owned by root or this user and not writable by group or others (unless sticky, as
 * /tmp is: there nobody else can rename or replace what root or we own); the file itself
 * must not be a symlink (O_NOFOLLOW), a FIFO or device (O_NONBLOCK keeps a FIFO without
 * a reader from blocking), owned by another user, writable by group or others, or have a
 * second hard link (another name for it, perhaps somewhere the caller never meant).
 * Returns the descriptor; the caller closes it once the child holds its copy.
 */
export function openLogFile(path: string): number {
  const uid = process.getuid?.();
  const absolute = resolve(path);
  for (const dir of ancestors(dirname(absolute))) checkDirectory(path, dir, uid);
  let fd: number;
  try {
    fd = openSync(absolute, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw refused(path, code === 'ELOOP' ? 'is a symlink; give the real file' : code === 'ENXIO' ? 'not a regular file' : `cannot open (${code})`);
  }
  try {
    const st = fstatSync(fd);
    const why = untrustedBecause(st, { kind: 'file', uid, hints: { writable: 'chmod 600 it' } });
    if (why !== null) throw refused(path, why);
    if (st.nlink !== 1) throw refused(path, `has ${st.nlink} hard links; give a file of its own`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** `/`, `/a`, `/a/b` for `/a/b`: each directory the kernel walks to reach the file. */
function ancestors(dir: string): string[] {
  const parts = dir.split(sep).filter((p) => p !== '');
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

function checkDirectory(path: string, dir: string, uid: number | undefined): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw refused(path, `directory ${dir}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  const why = untrustedBecause(st, { kind: 'directory', uid, rootMayOwn: true, stickyMayShare: true, hints: { symlink: 'give the path without symlinks' } });
  if (why !== null) throw refused(path, `directory ${dir}: ${why}`);
}

function refused(path: string, why: string): PqpskError {
  return new PqpskError('SETUP', `--log-file ${path}: ${why}`);
}
