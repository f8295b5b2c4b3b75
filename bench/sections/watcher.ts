/**
 * Section 6: `pqpsk negotiate --watch` on the real bed, as a user runs it. Traffic lost
 * per rotation (a ping every 10 ms across rotations), the time from the first packet a
 * forgetful relay drops to traffic on a new PSK, and the idle watcher's memory and CPU
 * (its own and its `wg` children's, from /proc). Pings start in the client namespace
 * and go to the relay's tunnel address only.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PqpskError } from '../../src/errors.js';
import { buildSingleHop, PQPSK_ARGV, startRelayServer, type Bed, type BedProcess, type SingleHopTopology } from '../../src/testbed/index.js';
import { encodeKeyBase64 } from '../../src/wg/keys.js';
import { f0, f1 } from '../harness/stats.js';
import { reasonOf, statusOf, type BenchSection, type NotMeasured } from '../section.js';

/** The watcher's figures, or why there are none. */
export type WatcherSection =
  | NotMeasured
  | {
      readonly measured: true;
      readonly rotations: number;
      readonly pingsSent: number;
      readonly pingsLost: number;
      /** Lost pings × 10 ms, per rotation. */
      readonly lostMsPerRotation: number;
      /** First dropped packet after the relay forgot → the watcher's switch to a new PSK, then a reply. */
      readonly healMs: number;
      readonly idleSeconds: number;
      readonly idleRssMb: number;
      /** CPU of the watcher and its reaped children over the idle window, % of one core. */
      readonly idleCpuPercent: number;
    };

/** The goals this section is held against. */
export const WATCHER_LIMITS = Object.freeze({ lostMsPerRotation: 100, healMs: 15_000, idleRssMb: 80, idleCpuPercent: 0.5 });

const PING_INTERVAL_MS = 10;
const ROTATE = '4s';
const ROTATIONS = 3;
const IDLE_SECONDS = 30;

/** A watcher on the bed's client interface, with the bed's parent key in a wg-quick style file. */
function startWatcher(bed: Bed, t: SingleHopTopology, configFile: string, rotate: string): BedProcess {
  return bed.spawnIn(t.client.namespace, [
    ...PQPSK_ARGV, 'negotiate', '--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`,
    '--watch', '--rotate', rotate, '--config-file', configFile,
  ]);
}

/** How many times `pattern` (global) has matched the process's stderr. */
function count(proc: BedProcess, pattern: RegExp): number {
  return [...proc.output().stderr.matchAll(pattern)].length;
}

async function waitFor(what: string, done: () => boolean, timeoutMs: number, proc: BedProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (!proc.running || Date.now() > end) throw new PqpskError('TIMEOUT', `watcher bench: ${what} not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sent and received of a `ping -q` summary. */
function pingSummary(stdout: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
  if (m === null) throw new PqpskError('INTERNAL', 'watcher bench: no ping summary');
  return { sent: Number(m[1]), received: Number(m[2]) };
}

/** utime + stime + cutime + cstime of `pid`, in clock ticks, and its RSS in MB. */
async function procUsage(pid: number): Promise<{ ticks: number; rssMb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return { ticks, rssMb: rssKb / 1024 };
}

async function measure(say: (line: string) => void): Promise<WatcherSection> {
  const dir = await mkdtemp(join(tmpdir(), 'pqpsk-bench-watch-'));
  await chmod(dir, 0o700);
  const { bed, topology: t } = await buildSingleHop();
  try {
    await startRelayServer(bed, t.relay, dir);
    const key = await bed.wg(t.client.namespace).readPrivateKey(t.client.iface);
    const text = encodeKeyBase64('bench parent key', key);
    key.fill(0);
    const configFile = join(dir, `${t.client.iface}.conf`);
    await writeFile(configFile, Buffer.concat([Buffer.from('[Interface]\nPrivateKey = '), text, Buffer.from('\n')]), { mode: 0o600 });
    text.fill(0);

    // Loss per rotation: a ping every 10 ms from the first switch until the rotations are done.
    say(`watcher: ${ROTATIONS} rotations every ${ROTATE} under a ping every ${PING_INTERVAL_MS} ms`);
    let watcher = startWatcher(bed, t, configFile, ROTATE);
    await watcher.waitForOutput(/switched: /, 60_000);
    const ping = bed.spawnIn(t.client.namespace, ['ping', '-n', '-q', '-i', String(PING_INTERVAL_MS / 1000), '-W', '1', '-w', '600', t.relay.gateway]);
    await waitFor(`${ROTATIONS} rotations`, () => count(watcher, /rotated: /g) >= ROTATIONS, 120_000, watcher);
    await watcher.stop('SIGTERM', 30_000);
    const rotations = count(watcher, /rotated: /g);
    await ping.stop('SIGINT');
    const pinged = pingSummary(ping.output().stdout);

    // Healing: the relay forgets the key (peer removed, parent given its addresses back).
    say('watcher: relay forgets the ephemeral key under a ping every 10 ms');
    watcher = startWatcher(bed, t, configFile, '1h');
    const first = await watcher.waitForOutput(/switched: \S+ on ephemeral key (\S+),/, 60_000);
    const pid = watcher.pid;
    const switches = count(watcher, /switched: /g);
    const stream = bed.spawnIn(t.client.namespace, ['ping', '-n', '-D', '-O', '-i', String(PING_INTERVAL_MS / 1000), '-W', '1', '-w', '600', t.relay.gateway]);
    await new Promise((r) => setTimeout(r, 1000));
    const forgotAt = Date.now();
    await bed.runIn(t.relay.namespace, ['wg', 'set', t.relay.iface, 'peer', first[1]!, 'remove', 'peer', t.client.publicKey, 'allowed-ips', `${t.client.address}/32`]);
    await waitFor('a switch after the relay forgot', () => count(watcher, /switched: /g) > switches, 90_000, watcher);
    const switchedAt = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    await stream.stop('SIGINT');
    const replies = [...stream.output().stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
    const lastBefore = Math.max(...replies.filter((ms) => ms < forgotAt + 50));
    const firstAfter = Math.min(...replies.filter((ms) => ms >= switchedAt));
    const healMs = Math.max(switchedAt, firstAfter) - (lastBefore + PING_INTERVAL_MS);

    // Idle: the watcher on a quiet protected tunnel.
    say(`watcher: idle for ${IDLE_SECONDS} s`);
    const u0 = await procUsage(pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const u1 = await procUsage(pid);
    const seconds = (Date.now() - t0) / 1000;
    const hz = 100;
    await watcher.stop('SIGTERM', 30_000);
    return {
      measured: true,
      rotations,
      pingsSent: pinged.sent,
      pingsLost: pinged.sent - pinged.received,
      lostMsPerRotation: ((pinged.sent - pinged.received) * PING_INTERVAL_MS) / Math.max(1, rotations),
      healMs,
      idleSeconds: seconds,
      idleRssMb: u1.rssMb,
      idleCpuPercent: ((u1.ticks - u0.ticks) / hz / seconds) * 100,
    };
  } finally {
    await bed.teardown();
    await rm(dir, { recursive: true, force: true });
  }
}

const LOSS = `traffic lost per rotation (ping every ${PING_INTERVAL_MS} ms) ≤ ${WATCHER_LIMITS.lostMsPerRotation} ms`;
const HEAL = `first dropped packet → traffic on a new PSK after the relay forgets ≤ ${WATCHER_LIMITS.healMs / 1000} s`;
const RSS = `idle watcher RSS ≤ ${WATCHER_LIMITS.idleRssMb} MB`;
const CPU = `idle watcher CPU ≤ ${WATCHER_LIMITS.idleCpuPercent} % of one core`;

export const watcherSection: BenchSection<'watcher'> = {
  key: 'watcher',
  heading: '6. The watcher on the real bed (pqpsk negotiate --watch in the client namespace; pqpsk server in the relay namespace)',
  async measure(ctx) {
    const unavailable = ctx.bedUnavailable('the watcher');
    if (unavailable !== null) return unavailable;
    try {
      return await measure((line) => ctx.say(line));
    } catch (err) {
      return { measured: false, reason: reasonOf(err) };
    }
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(s) {
    if (!s.measured) return [`   not measured: ${s.reason}`];
    return [
      `   rotations ${s.rotations}, pings ${s.pingsSent} sent, ${s.pingsLost} lost: ${f0(s.lostMsPerRotation)} ms lost per rotation`,
      `   relay forgets: traffic on a new PSK ${f1(s.healMs / 1000)} s after the first dropped packet`,
      `   idle ${f0(s.idleSeconds)} s: RSS ${f1(s.idleRssMb)} MB, CPU ${s.idleCpuPercent.toFixed(2)} % of one core (watcher and its wg children)`,
    ];
  },
  targets(s) {
    const m = s.measured ? s : null;
    const reason = s.measured ? '' : s.reason;
    const line = (target: string, value: number | null, limit: number, unit: string, note: string) => ({
      target,
      value,
      limit,
      unit,
      status: statusOf(value, limit, true),
      note: m === null ? reason : note,
    });
    return [
      line(LOSS, m?.lostMsPerRotation ?? null, WATCHER_LIMITS.lostMsPerRotation, 'ms', `${m?.rotations ?? 0} rotations`),
      line(HEAL, m === null ? null : m.healMs / 1000, WATCHER_LIMITS.healMs / 1000, 's', 'relay peer removed, parent given its addresses back'),
      line(RSS, m?.idleRssMb ?? null, WATCHER_LIMITS.idleRssMb, 'MB', `after ${f0(m?.idleSeconds ?? 0)} s idle`),
      line(CPU, m?.idleCpuPercent ?? null, WATCHER_LIMITS.idleCpuPercent, '%', 'utime+stime of the watcher and its reaped wg children'),
    ];
  },
};
