/**
 * Whom the relay trusts with its book: a state directory and book files that are ours,
 * no symlink, and not writable by group or others — whoever can write there can rewrite
 * the book, and the book decides which peers the relay removes.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { PqpskError } from '../errors.js';
import { checkTrusted, untrustedBecause } from '../fs-checks.js';

/**
 * Refuse a state directory that is a symlink, not ours, or writable by group or others:
 * whoever can write there can rewrite the book, and the book decides which peers the
 * relay removes. A missing directory is fine (the first save creates it 0700).
 */
export async function checkStateDir(dir: string, readerForRelayUser = false): Promise<number | undefined> {
  let st;
  const own = process.getuid?.();
  try {
    st = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return own;
    throw new PqpskError('SETUP', `state directory ${dir}: cannot inspect (${errnoOf(err)})`);
  }
  // A root reader (`server status`) beside a relay that runs as another user trusts
  // that user, the owner of the state directory the broker gave it.
  const uid = readerForRelayUser && own === 0 && !st.isSymbolicLink() ? st.uid : own;
  checkTrusted(`state directory ${dir}`, st, { kind: 'directory', uid, hints: { symlink: 'give the real directory', writable: 'chmod 700 it' } });
  return uid;
}

/**
 * Read a book file without following a symlink, only if `uid` owns it and it is not
 * writable by others; null (with the reason in `problems`) when absent or untrusted.
 */
export async function readPrivateFile(path: string, problems: string[], uid: number | undefined): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`${path}: cannot open (${code === 'ELOOP' ? 'a symlink' : errnoOf(err)})`);
    return null;
  }
  try {
    const st = await handle.stat();
    const why = untrustedBecause(st, { kind: 'file', uid });
    if (why !== null) problems.push(`${path}: ${why}`);
    else return await handle.readFile('utf8');
    return null;
  } finally {
    await handle.close();
  }
}

/** The errno code of a failed file operation, for messages (never its text: it may name more). */
export function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'I/O error';
}
