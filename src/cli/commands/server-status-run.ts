/**
 * What `pqpsk server status` does: read the relay's book (read-only, no lock) and the
 * interface's secret-free peer table, and print who is on a post-quantum key. Loaded only
 * when the command runs (see server-status.ts).
 */
import { existsSync } from 'node:fs';
import { messageOf } from '../../errors.js';
import { FileBookStore } from '../../server/file-book-store.js';
import { relayStatus, type RelayStatus } from '../../server/status-view.js';
import { RealWgControl } from '../../wg/real.js';
import type { WgRouteReader } from '../../wg/types.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { ServerStatusArgs } from './server-status.js';

/** Read the book and the interface; `wg` is injectable for tests. */
export async function readRelayStatus(iface: string, stateDir: string, wg: Pick<WgRouteReader, 'peerRoutes'>): Promise<RelayStatus> {
  // Beside a root `pqpsk server`, the book belongs to the relay's user: trust it.
  const store = new FileBookStore(stateDir, iface, true);
  // load() only reads: it never saves, rotates or locks (the running relay may hold the book).
  const routes = await wg.peerRoutes(iface);
  const book = await store.load();
  return relayStatus(iface, store.location, existsSync(store.location), book, store.problems ?? [], routes);
}

/** The human form: a table of parents, then totals. */
export function relayStatusText(s: RelayStatus, nowMs: number): string {
  const ago = (iso: string | null): string => {
    if (iso === null) return 'never';
    const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
    return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172_800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} d ago`;
  };
  const lines = [`${s.interface}: ${s.totals.onEphemeral} of ${s.totals.parents} parent${s.totals.parents === 1 ? '' : 's'} on a post-quantum ephemeral key (book ${s.book})`];
  if (!s.bookFound) lines.push(`  (no book at ${s.book}: no client has registered here yet, or the relay runs with another --state-dir)`);
  for (const p of s.bookProblems) lines.push(`  book problem: ${p}`);
  for (const p of s.parents) {
    const where = p.onEphemeral ? `on ephemeral ${p.ephemeral} since ${p.ephemeralSince ?? '?'}` : 'on parent key';
    const waiting = p.waitingEphemerals > 0 ? `, ${p.waitingEphemerals} waiting` : '';
    lines.push(`  ${p.parent}  ${where}; handshake ${ago(p.lastHandshake)}; ${p.allowedIps.join(',') || '(no addresses)'}${waiting}`);
  }
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  lines.push(
    `totals: ${count(s.totals.parents, 'parent')}, ${s.totals.onEphemeral} on ephemeral, ${s.totals.onParentKey} on parent key, ${count(s.totals.ephemeralPeers, 'ephemeral peer')} on the interface` +
      (s.vanishedEphemerals > 0 ? `, ${s.vanishedEphemerals} in the book but gone from the interface` : ''),
  );
  return lines.join('\n');
}

/** Print the relay's status and set the exit code. */
export async function run(args: ServerStatusArgs): Promise<void> {
  try {
    const status = await readRelayStatus(args.interface, args['state-dir'], new RealWgControl());
    process.stdout.write(`${args.json ? JSON.stringify(status) : relayStatusText(status, Date.now())}\n`);
    process.exitCode = EXIT_OK;
  } catch (err) {
    process.stderr.write(`pqpsk server status: ${messageOf(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
