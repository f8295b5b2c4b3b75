/** Leftover checks, counters and set-ups shared by the bed e2e tests. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UAPI_DIR, buildSingleHop, writeParentConfig, type Bed, type SingleHop } from '../../src/testbed/index.js';
import { publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';

/** Everything on the machine that carries this run's suffix: namespaces, root links, UAPI sockets. */
export async function traces(suffix: string): Promise<string[]> {
  const found: string[] = [];
  const ns = await execa('ip', ['netns', 'list'], { reject: false });
  for (const line of String(ns.stdout).split('\n')) if (line.includes(suffix)) found.push(`netns ${line}`);
  const links = await execa('ip', ['-o', 'link', 'show'], { reject: false });
  for (const line of String(links.stdout).split('\n')) if (line.includes(suffix)) found.push(`link ${line}`);
  if (existsSync(UAPI_DIR)) for (const f of readdirSync(UAPI_DIR)) if (f.includes(suffix)) found.push(`socket ${f}`);
  return found;
}

/** Asserts that `ip netns list`, root links and /var/run/wireguard/ hold nothing of the run. */
export async function assertNothingLeft(suffix: string): Promise<void> {
  assert.deepEqual(await traces(suffix), [], `leftovers of run ${suffix}`);
}

/** Whether a pid is still a live (non-zombie) process. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` is alive; returns the survivors. */
export async function waitGone(pids: readonly number[], ms = 5000): Promise<number[]> {
  const end = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(alive);
  }
  return left;
}

/** The public key of the private key `iface` holds now (read in memory, wiped). */
export async function currentKey(bed: Bed, ns: string, iface: string): Promise<string> {
  const key = await bed.wg(ns).readPrivateKey(iface);
  try {
    return publicKeyToText(publicKeyOf(key));
  } finally {
    key.fill(0);
  }
}

/**
 * A single-hop bed and a private (0700) folder for what a test keeps beside it: the
 * parent's wg-quick file, the relay's book, wg-quick files. The caller tears both down.
 */
export async function privateSingleHop(prefix: string): Promise<{ bed: Bed; topology: SingleHop['topology']; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o700);
  const { bed, topology } = await buildSingleHop();
  return { bed, topology, dir };
}

/** The same, with the client's parent key written as a wg-quick file in the folder (for --config-file). */
export async function privateSingleHopWithParent(prefix: string): Promise<{ bed: Bed; topology: SingleHop['topology']; dir: string; configFile: string }> {
  const hop = await privateSingleHop(prefix);
  const configFile = join(hop.dir, `${hop.topology.client.iface}.conf`);
  await writeParentConfig(hop.bed, hop.topology.client.namespace, hop.topology.client.iface, configFile);
  return { ...hop, configFile };
}

/** Uid (real, effective, saved, fs), effective capabilities and parent of a process or thread. */
export function credentials(statusPath: string): { uids: number[]; capEff: string; ppid: number } {
  const status = readFileSync(statusPath, 'utf8');
  const uids = /^Uid:\s+(.*)$/m.exec(status)![1]!.trim().split(/\s+/).map(Number);
  return { uids, capEff: /^CapEff:\s+(\S+)$/m.exec(status)![1]!, ppid: Number(/^PPid:\s+(\d+)$/m.exec(status)![1]) };
}

/** The pid `ss` names as listening on tcp port 1337 inside `ns`. */
export async function listenerPid(bed: Bed, ns: string): Promise<number> {
  const r = await bed.runIn(ns, ['ss', '-ltnpH', 'sport = :1337']);
  const pid = /pid=(\d+)/.exec(r.stdout)?.[1];
  assert.ok(pid !== undefined, `ss shows who listens on 1337: ${r.stdout}`);
  return Number(pid);
}

/** The uid of `nobody`, the user the bed's relays run as. */
export const NOBODY_UID = Number(/^nobody:x:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1] ?? '65534');
