/**
 * pqpsk itself on the bed: `pqpsk server` in a relay namespace, `pqpsk negotiate` in a
 * client namespace, both as the real command line in a process of their own, and the PSK
 * each end holds, read back as a fingerprint. `pqpsk demo`, the end-to-end tests and the
 * benchmark drive the bed through these, so all three run the product the same way.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launcherArgv } from '../launch.js';
import { PqpskError } from '../errors.js';
import { pskFingerprint } from '../kem/psk.js';
import { readPresharedKey } from './psk-read.js';
import type { Bed } from './bed.js';
import type { BedProcess, RunResult } from './exec.js';
import type { BedRelay } from './topologies.js';

/** The installed `pqpsk` (package.json `bin`, the bundle `npm run build` makes), run as `node MAIN_JS …` inside namespaces. */
export const MAIN_JS = fileURLToPath(new URL('../cli/pqpsk.js', import.meta.url));

/**
 * `pqpsk` as its launcher line starts it — through `env`, with the installed memory
 * settings — for spawning inside namespaces, where the bundle is run with `process.execPath`.
 */
export const PQPSK_ARGV: readonly string[] = Object.freeze([...launcherArgv(process.execPath), MAIN_JS]);

/**
 * The user the bed's relays run as (`--user`): one every Linux system has, so the bed
 * needs no user of its own; a real install creates `pqpsk` instead.
 */
export const BED_RELAY_USER = 'nobody';

/**
 * Makes `dir` (created if missing) reachable by the relay user: the bed keeps its folders
 * under the temporary directory private (0700), so each one on the way to the relay's
 * book gets search permission only (0711: nothing in it can be listed, and its files keep
 * their own modes). The relay's start gives `dir` itself to the user.
 */
export async function reachableByRelay(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let at = dirname(dir); !relative(tmpdir(), at).startsWith('..') && at !== tmpdir(); at = dirname(at)) {
    await chmod(at, ((await stat(at)).mode & 0o777) | 0o011);
  }
}

/**
 * Start `pqpsk server` for `relay` inside its namespace (`extra`: more options); resolves
 * once it listens. Without a service address it listens where it does by default (the
 * interface's own address), as a self-hoster runs it.
 */
export async function startRelayServer(
  bed: Bed,
  relay: Pick<BedRelay, 'namespace' | 'iface'> & { readonly serviceAddress?: string },
  stateDir: string,
  extra: readonly string[] = [],
): Promise<BedProcess> {
  await reachableByRelay(join(stateDir, relay.iface));
  const proc = bed.spawnIn(relay.namespace, [
    ...PQPSK_ARGV,
    'server',
    '--interface',
    relay.iface,
    '--user',
    BED_RELAY_USER,
    ...(relay.serviceAddress === undefined ? [] : ['--listen', `${relay.serviceAddress}:1337`]),
    '--state-dir',
    join(stateDir, relay.iface),
    '--hqc-workers',
    '1',
    ...extra,
  ]);
  await proc.waitForOutput(/"event":"listening"/, 20_000);
  return proc;
}

/** Run `pqpsk negotiate <args>` inside the client namespace. */
export function runNegotiate(bed: Bed, ns: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return bed.runIn(ns, [...PQPSK_ARGV, 'negotiate', ...args], { timeoutMs });
}

/** The fingerprint of the PSK `iface` (in `ns`) holds for `peer`, or null: read, hashed, wiped. */
export async function peerPskFingerprint(ns: string, iface: string, peer: string): Promise<string | null> {
  const psk = await readPresharedKey(iface, peer, { netns: ns });
  if (psk === null) return null;
  try {
    return pskFingerprint(psk);
  } finally {
    psk.fill(0);
  }
}

/** One hop of `negotiate --json`, as read back from its output. */
export interface JsonHop {
  role: string;
  interface: string;
  peer: string;
  parentPublicKey: string;
  ephemeralPublicKey: string;
  pskFingerprint: string;
  algorithms: string[];
  timings: { keygenMs: number; rpcMs: number; decapsMs: number; switchMs: number; verifyMs: number; totalMs: number };
}

/** Parse the one JSON object `negotiate --json` prints on success. */
export function parseNegotiateJson(stdout: string): { attempts: number; totalMs: number; hops: JsonHop[] } {
  const line = stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as { ok?: boolean; attempts: number; totalMs: number; hops: JsonHop[] };
  if (parsed.ok !== true) throw new PqpskError('RPC_FAILURE', 'negotiate did not succeed');
  return parsed;
}
