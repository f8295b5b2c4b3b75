/**
 * A relay restart under a herd, as an operator meets it: the relay as installed (the
 * built `pqpsk server` command, started through its own launcher line, with every default:
 * rate limits, in-flight cap, HQC workers, a state file on disk) on the benchmark's `wg`
 * stand-in (wg-standin.ts: the interface in a process of its own, a thin `wg` on the
 * relay's PATH printing real `wg` text), holding `clients` parents whose ephemerals are
 * live and in the book. Then the restart: SIGTERM (the relay removes every ephemeral and
 * gives the parents their addresses back, as after any restart no PSK survives), and a
 * new `pqpsk server` as soon as the old one has exited. The herd (herd-load.ts, in a child
 * process of its own so its CPU is counted apart) notices over the first seconds and
 * renegotiates; meanwhile this process probes `/healthz` every 100 ms.
 *
 * Figures: when 50 %, 99 % and 100 % held a fresh PSK (from the SIGTERM), how many gave
 * up or were still unhealed at the horizon, the new relay's event-loop lag (its own
 * /metrics, sampled since it started: the herd is nearly all of its life), its peak
 * resident set (VmHWM) and CPU, the /healthz round trips, and the load generator's CPU.
 * To see where the relay's time goes, set PQPSK_BENCH_RELAY_NODE_ARGS (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`): node options for the relay processes alone; to
 * try other settings, PQPSK_BENCH_RELAY_ARGS (e.g. `--max-inflight 64`): more `pqpsk
 * server` options, after the defaults.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { launcherArgv } from '../../src/launch.js';
import { DEFAULT_CLIENT_KEMS } from '../../src/client/defaults.js';
import { createClientKems } from '../../src/client/kems.js';
import { PqpskError } from '../../src/errors.js';
import type { KemName } from '../../src/kem/types.js';
import type { EphemeralRecord, ParentRecord } from '../../src/protocol/relay-book.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { giveStateDir, lookupUser, type RelayUser } from '../../src/server/relay-user.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import type { HerdOutcome } from './herd-load.js';
import { timeToShare } from './herd-load.js';
import { sourceAddress } from './source-address.js';
import { percentilesOf, type Percentiles } from './stats.js';
import { WgStandin, type StandinSeedPeer } from './wg-standin.js';

/** The built command, as the package installs it. */
const PQPSK = fileURLToPath(new URL('../../src/cli/pqpsk.js', import.meta.url));
const HERD_CHILD = new URL('./herd-child.js', import.meta.url);
const IFACE = 'pqherd0';
/** The unprivileged user the relay runs as when the bench runs as root. */
const BENCH_USER = 'nobody';

/** How big a herd, how quickly it notices, how long to wait for it; `say` reports progress. */
export interface HerdBenchOptions {
  readonly clients: number;
  readonly detectSpreadMs: number;
  readonly horizonMs: number;
  readonly say: (line: string) => void;
}

/** The herd's figures: the section prints them beside their goals. */
export interface HerdBenchResult {
  readonly clients: number;
  readonly kems: readonly KemName[];
  readonly detectSpreadMs: number;
  readonly horizonMs: number;
  /** ms from the SIGTERM until the share held a fresh PSK; null: not reached by the horizon. */
  readonly t50Ms: number | null;
  readonly t99Ms: number | null;
  readonly t100Ms: number | null;
  /** Clients holding a fresh PSK 10, 20, 30 … s after the SIGTERM (to the horizon): the curve behind the shares. */
  readonly healedEvery10s: readonly number[];
  readonly gaveUp: number;
  readonly unhealed: number;
  readonly calls: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly maxAttempts: number;
  /** The old relay's graceful stop (SIGTERM to exit), and the new one's start (spawn to /healthz 200), ms. */
  readonly stopMs: number;
  readonly startMs: number;
  /** The new relay's event-loop lag since it started (10 ms resolution), ms. */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /** /healthz round trips answered 200 from the new relay's start to the end of the herd. */
  readonly healthzMs: Percentiles;
  /** Probes of the new relay that failed or timed out (5 s) in that window. */
  readonly healthzFailed: number;
  /** The new relay's peak resident set (VmHWM), MB. */
  readonly rssPeakMb: number;
  /** CPU over the herd, ms: the new relay (main thread and workers), the load generator, the `wg` stand-in. */
  readonly relayCpuMs: number;
  readonly loadCpuMs: number;
  readonly standinCpuMs: number;
  /** Wall time from SIGTERM to the end of the herd, ms. */
  readonly wallMs: number;
  /** The new relay's own counts (its /metrics): calls by result, connections closed on accept by cap. */
  readonly relayResults: Readonly<Record<string, number>>;
  readonly refusedConnections: Readonly<Record<string, number>>;
}

/** A free loopback TCP port (closed again at once; the relay binds it next). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GET `url`: status and body, or null on failure or after `timeoutMs`. */
function get(url: string, timeoutMs: number): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** A running `pqpsk server`, its exit, and the last of what it wrote on stderr. */
interface RelayProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

function startRelay(env: NodeJS.ProcessEnv, args: readonly string[], user: RelayUser | undefined): RelayProcess {
  const [file, ...words] = launcherArgv(process.execPath);
  const extra = process.env['PQPSK_BENCH_RELAY_NODE_ARGS']?.split(' ').filter((w) => w !== '') ?? [];
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const child = spawn(file!, [...words, ...extra, PQPSK, 'server', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], ...ids });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** Wait until `/healthz` answers 200, or fail naming what the relay said. */
async function healthy(relay: RelayProcess, url: string, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  let gone = false;
  void relay.exited.then(() => (gone = true));
  while (performance.now() < until && !gone) {
    if ((await get(url, 1000))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PqpskError('INTERNAL', `herd bench: the relay did not come up: ${relay.stderr().trim().slice(-300) || '(no message)'}`);
}

/** A Prometheus text sample's value, NaN when absent. */
function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

/** Every sample of a labelled counter, by its one label's value. */
function byLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{${label}="([^"]*)"\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

function vmHwmMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Run the restart under a herd; tears everything down whatever happens. */
export async function measureHerd(options: HerdBenchOptions): Promise<HerdBenchResult> {
  const n = options.clients;
  const now = Date.now();
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const peers: StandinSeedPeer[] = [];
  const clients: { parent: Uint8Array; source: string }[] = [];
  for (let i = 0; i < n; i++) {
    const parent = randomBytes(32);
    const parentText = publicKeyToText(parent);
    const ephemeral = publicKeyToText(randomBytes(32));
    const ip = `${sourceAddress(i)}/32`;
    clients.push({ parent, source: sourceAddress(i) });
    parents.push({ parent: parentText, allowedIps: [ip] });
    ephemerals.push({ ephemeral, parent: parentText, registeredAt: now - 60_000 });
    peers.push({ publicKey: parentText, allowedIps: [], latestHandshake: 0, psk: false }, { publicKey: ephemeral, allowedIps: [ip], latestHandshake: Math.floor(now / 1000) - 60, psk: true });
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'pqpsk-bench-herd-'));
  let standin: WgStandin | undefined;
  let load: ChildProcess | undefined;
  const relays: RelayProcess[] = [];
  try {
    await new FileBookStore(stateDir, IFACE).save({ parents, ephemerals });
    // Started as root, `pqpsk server` would become a broker that runs only the system's
    // `wg`: the relay runs as an unprivileged user instead, which spawns the stand-in itself.
    const user = process.getuid?.() === 0 ? await lookupUser(BENCH_USER) : undefined;
    if (user !== undefined) await giveStateDir(stateDir, IFACE, user);
    // Its FIFOs for `wg set` go in a directory of its own (the shared temporary one is root's).
    const runtimeDir = join(stateDir, 'run');
    mkdirSync(runtimeDir, { mode: 0o700 });
    if (user !== undefined) chownSync(runtimeDir, user.uid, user.gid);
    standin = await WgStandin.start(IFACE, publicKeyToText(randomBytes(32)), peers);
    const env: NodeJS.ProcessEnv = { ...process.env, PQPSK_RUNTIME_DIR: runtimeDir, PATH: `${dirname(standin.wgPath)}:${process.env['PATH'] ?? ''}` };
    const port = await freePort();
    const metricsPort = await freePort();
    const healthz = `http://127.0.0.1:${metricsPort}/healthz`;
    const tried = process.env['PQPSK_BENCH_RELAY_ARGS']?.split(' ').filter((w) => w !== '') ?? [];
    const args = ['--interface', IFACE, '--listen', `127.0.0.1:${port}`, '--metrics', `127.0.0.1:${metricsPort}`, '--state-dir', stateDir, ...tried];
    options.say(`herd: the relay as installed, ${n} live ephemerals on the wg stand-in`);
    const first = startRelay(env, args, user);
    relays.push(first);
    await healthy(first, healthz, 120_000);

    const kemNames = DEFAULT_CLIENT_KEMS.split(',') as KemName[];
    const kems = createClientKems(kemNames);
    const keys = [];
    for (const kem of kems) {
      const pair = await kem.keygen();
      pair.secretKey.fill(0);
      keys.push({ name: kem.name, publicKey: pair.publicKey });
    }
    const child = fork(HERD_CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    load = child;
    const outcome = new Promise<HerdOutcome>((resolve, reject) => {
      child.once('message', (m: HerdOutcome) => resolve(m));
      child.once('exit', () => reject(new PqpskError('INTERNAL', 'herd bench: the load generator exited early')));
    });
    await new Promise((r) => setTimeout(r, 500));

    // The restart, and the herd that follows it.
    const standinCpu0 = (await standin.counts()).cpuMs;
    const t0 = Date.now();
    const wall0 = performance.now();
    child.send({ target: `127.0.0.1:${port}`, clients, kems: keys, detectSpreadMs: options.detectSpreadMs, horizonMs: options.horizonMs, t0 });
    first.child.kill('SIGTERM');
    await first.exited;
    const stopMs = performance.now() - wall0;
    const second = startRelay(env, args, user);
    relays.push(second);
    const spawned = performance.now();
    const probes: number[] = [];
    let failedProbes = 0;
    let probing = true;
    let secondUp = false;
    const prober = (async () => {
      while (probing) {
        const p0 = performance.now();
        const answer = await get(healthz, 5000);
        if (answer?.status === 200) {
          secondUp = true;
          probes.push(performance.now() - p0);
        } else if (secondUp) {
          failedProbes++;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await healthy(second, healthz, 120_000);
    const startMs = performance.now() - spawned;
    options.say(`herd: old relay stopped in ${Math.round(stopMs)} ms, new one up in ${Math.round(startMs)} ms; ${n} clients renegotiating`);
    const result = await outcome;
    const metrics = (await get(`http://127.0.0.1:${metricsPort}/metrics`, 10_000))?.body ?? '';
    const wallMs = performance.now() - wall0;
    probing = false;
    await prober;
    const standinCpuMs = (await standin.counts()).cpuMs - standinCpu0;
    return {
      clients: n,
      kems: kemNames,
      detectSpreadMs: options.detectSpreadMs,
      horizonMs: options.horizonMs,
      t50Ms: timeToShare(result.healedAtMs, 0.5),
      t99Ms: timeToShare(result.healedAtMs, 0.99),
      t100Ms: timeToShare(result.healedAtMs, 1),
      healedEvery10s: Array.from({ length: Math.floor(options.horizonMs / 10_000) }, (_, k) => result.healedAtMs.filter((t) => t !== null && t <= (k + 1) * 10_000).length),
      gaveUp: result.gaveUp,
      unhealed: result.healedAtMs.filter((t) => t === null).length - result.gaveUp,
      calls: result.calls,
      failures: result.failures,
      maxAttempts: result.maxAttempts,
      stopMs,
      startMs,
      eventLoopP99Ms: sample(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      eventLoopMaxMs: sample(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000,
      healthzMs: percentilesOf(probes),
      healthzFailed: failedProbes,
      rssPeakMb: vmHwmMb(second.child.pid ?? -1),
      relayCpuMs: sample(metrics, 'process_cpu_seconds_total') * 1000,
      loadCpuMs: result.cpuMs,
      standinCpuMs,
      wallMs,
      relayResults: byLabel(metrics, 'pqpsk_registrations_total', 'result'),
      refusedConnections: byLabel(metrics, 'pqpsk_rpc_refused_connections_total', 'cap'),
    };
  } finally {
    load?.kill('SIGKILL');
    for (const relay of relays) {
      if (relay.child.exitCode !== null || relay.child.signalCode !== null) continue;
      relay.child.kill('SIGTERM');
      const timer = setTimeout(() => relay.child.kill('SIGKILL'), 60_000);
      await relay.exited;
      clearTimeout(timer);
    }
    await standin?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
