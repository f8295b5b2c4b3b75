/**
 * The one check that a file or directory pqpsk trusts is its own: no symlink, the kind
 * expected, owned by this process's user (or root, where the caller allows it), writable
 * by no group and no other user. Whoever can write such a path steers what pqpsk reads
 * from it (the relay's book, a key file) or where it writes (a log, the secret channel),
 * so every folder that trusts a path asks here. Takes the stat the caller already has (an
 * lstat, or an fstat of a descriptor opened with O_NOFOLLOW), so it does no I/O itself.
 */
import type { Stats } from 'node:fs';
import { PqpskError } from './errors.js';

/** What can make a path untrusted, so callers can add advice for each. */
export type PathFlaw = 'symlink' | 'kind' | 'owner' | 'writable';

/** What a trusted path must be. */
export interface TrustRule {
  readonly kind: 'file' | 'directory';
  /** Root may own it too (a directory on the way to a file: /, /var). */
  readonly rootMayOwn?: boolean;
  /** A sticky directory (/tmp) may be writable by others: nobody can replace what is not theirs. */
  readonly stickyMayShare?: boolean;
  /** Group and others may not even read or search it (a directory of sockets or notes: 0700). */
  readonly private?: boolean;
  /** Advice appended to the reason ("; chmod 700 it"), per flaw. */
  readonly hints?: Partial<Record<PathFlaw, string>>;
  /** This process's user; process.getuid() by default (undefined where there is none). */
  readonly uid?: number | undefined;
}

/** Why `st` fails `rule`, in words that follow the path's label; null when it is trusted. */
export function untrustedBecause(st: Stats, rule: TrustRule): string | null {
  const uid = 'uid' in rule ? rule.uid : process.getuid?.();
  const flaw = (what: PathFlaw, text: string): string => (rule.hints?.[what] === undefined ? text : `${text}; ${rule.hints[what]}`);
  if (st.isSymbolicLink()) return flaw('symlink', 'is a symlink');
  if (rule.kind === 'file' ? !st.isFile() : !st.isDirectory()) return flaw('kind', rule.kind === 'file' ? 'not a regular file' : 'not a directory');
  if (uid !== undefined && st.uid !== uid && !(rule.rootMayOwn === true && st.uid === 0)) {
    return flaw('owner', `owned by uid ${st.uid}, not by ${rule.rootMayOwn === true ? 'root or ' : ''}this process (uid ${uid})`);
  }
  const sticky = rule.stickyMayShare === true && (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) return flaw('writable', `writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  if (rule.private === true && (st.mode & 0o077) !== 0) return flaw('writable', `group or others have access (mode ${(st.mode & 0o777).toString(8)})`);
  return null;
}

/** Throws a SETUP error `label: reason` when `st` fails `rule`. */
export function checkTrusted(label: string, st: Stats, rule: TrustRule): void {
  const why = untrustedBecause(st, rule);
  if (why !== null) throw new PqpskError('SETUP', `${label}: ${why}`);
}
