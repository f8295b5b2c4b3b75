/**
 * Relay memory: the resident set of a relay process holding N ephemeral peers. The relay
 * runs in a child process (relay-host.ts) so the figure is its own, never the
 * benchmark's. Two set-ups:
 *
 * - `standin`: 10 000 ephemerals the relay loads from its book at start, as after a
 *   restart of a relay that registered them (live: each holds its parent's address and
 *   handshook a minute ago), on the benchmark's `wg` stand-in (wg-standin.ts: the
 *   interface lives in a process of its own, as WireGuard's lives in the kernel, and the
 *   relay spawns `wg` and parses its text as in production); then K registrations over
 *   loopback gRPC and one timed watcher pass, so the working memory of both paths is
 *   counted. Registering all 10 000 through the relay is not possible within the run's
 *   time budget: a registration's relay-side work grows with the number of peers (see
 *   the report), so the fill would take minutes.
 * - `real`: N registrations over loopback gRPC to a relay driving a wireguard-go
 *   interface; wireguard-go's own RSS is read separately and not included.
 *
 * Every registration comes from its parent's own 127.1.x.y source address (the relay
 * authenticates by source address). The first `hqcRegistrations` offer ML-KEM-1024 +
 * HQC-256 so the pool's WebAssembly memory is in use and counted; the rest offer
 * ML-KEM-1024 alone (HQC-256 costs ~22 ms of a worker each). What the relay keeps per peer
 * does not depend on the KEMs: the PSK is 32 bytes either way.
 */
import { randomBytes } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/launch.js';
import { PqpskError, isPqpskError } from '../../src/errors.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import type { KemName } from '../../src/kem/types.js';
import type { RegisterRequestInput } from '../../src/protocol/messages.js';
import type { PollIntervals } from '../../src/server/handshake-poller.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import type { HostReply, HostRequest, HostStats } from './relay-host.js';
import { callFromSource, sourceAddress } from './source-address.js';
import { percentileOf } from './stats.js';

/**
 * The relay host's node options: the installed `pqpsk`'s own heap settings (its launcher
 * line is made from the same list), plus --expose-gc so that stats follow a collection.
 */
export const RELAY_HOST_EXEC_ARGV: readonly string[] = Object.freeze(['--expose-gc', ...NODE_FLAGS]);

/** The relay host's environment: ours, with the installed `pqpsk`'s memory settings. */
function relayHostEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const word of NODE_ENVIRONMENT) {
    const at = word.indexOf('=');
    env[word.slice(0, at)] = word.slice(at + 1);
  }
  return env;
}

/** A relay host child process and its request/answer channel. */
export class RelayHost {
  readonly #child: ChildProcess;
  #stderr = '';
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    child.once('exit', () => {
      this.#exited = true;
    });
  }

  /** Fork relay-host.js with an IPC channel, as `pqpsk` runs (RELAY_HOST_EXEC_ARGV). */
  static spawn(): RelayHost {
    const child = fork(new URL('./relay-host.js', import.meta.url), [], {
      execArgv: [...RELAY_HOST_EXEC_ARGV],
      env: relayHostEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    return new RelayHost(child);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Send one request and wait for its answer (one at a time). */
  request<T extends HostReply['type']>(message: HostRequest, expect: T, timeoutMs = 60_000): Promise<Extract<HostReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.#exited) {
        reject(new PqpskError('INTERNAL', `relay host exited: ${this.#stderr.trim().slice(-300) || '(no message)'}`));
        return;
      }
      const timer = setTimeout(() => done(new PqpskError('TIMEOUT', `relay host: no answer to ${message.type} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (reply: HostReply): void => {
        if (reply.type === 'error') done(new PqpskError('INTERNAL', `relay host: ${reply.message}`));
        else if (reply.type === expect) done(null, reply as Extract<HostReply, { type: T }>);
      };
      const onExit = (): void => done(new PqpskError('INTERNAL', `relay host exited: ${this.#stderr.trim().slice(-300) || '(no message)'}`));
      const done = (err: Error | null, value?: Extract<HostReply, { type: T }>): void => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
        if (err !== null) reject(err);
        else resolve(value!);
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#child.send(message);
    });
  }

  async stats(): Promise<HostStats> {
    return (await this.request({ type: 'stats' }, 'stats')).stats;
  }

  /** Graceful stop, then SIGKILL by pid if it lingers. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      await this.request({ type: 'stop' }, 'stopped', 20_000);
    } catch {
      // fall through to the kill below
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** What to load into the relay and how to register (see the module comment). */
export interface MemoryBenchOptions {
  readonly mode: 'standin' | 'real';
  readonly iface: string;
  /** `standin`: live ephemerals loaded from the book at start. */
  readonly seedLive?: number;
  /** `standin`: parents the host creates for us to register (after the seeded ones). */
  readonly freshParents?: number;
  /** `real`: parents already on the interface; parent i owns `${sourceAddress(i)}/32`. */
  readonly parents?: readonly string[];
  readonly hqcRegistrations: number;
  readonly hqcWorkers: number;
  readonly concurrency: number;
  /** The watcher's timer; the one pass measured here is run explicitly. */
  readonly poll?: PollIntervals;
  /** Read before stopping, e.g. wireguard-go's RSS. */
  readonly beforeStop?: () => Promise<void>;
}

/** The relay's memory before and after, and what its work cost at that size. */
export interface MemoryBenchResult {
  readonly mode: 'standin' | 'real';
  /** Ephemerals in the relay's book when memory was read. */
  readonly peers: number;
  readonly registrations: number;
  readonly hqcRegistrations: number;
  /** Clients registering at once. */
  readonly concurrency: number;
  /** Right after start (seeded peers loaded, nothing registered yet). */
  readonly started: HostStats;
  readonly loaded: HostStats;
  readonly startMs: number;
  readonly registerSeconds: number;
  readonly registrationsPerSecond: number;
  /** Client-observed RegisterPeerV1 latency, ms. */
  readonly latencyP50Ms: number;
  /** One watcher pass (read the interface, plan, apply) at this size, ms from start to end: its `wg` reads and set included. */
  readonly pollerTickMs: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly hostPid: number;
}

/** N random parents' public keys (the relay never uses a peer key as a curve point). */
export function randomParents(n: number): string[] {
  return Array.from({ length: n }, () => publicKeyToText(randomBytes(32)));
}

/** RSS of a relay with nothing on its interface (0 peers), workers started. */
export async function measureIdleRelay(iface: string, hqcWorkers: number): Promise<HostStats> {
  const host = RelayHost.spawn();
  try {
    await host.request({ type: 'start', mode: 'standin', iface, seedLive: 0, freshParents: 0, hqcWorkers, maxInflight: 32 }, 'started');
    await new Promise((r) => setTimeout(r, 300));
    return await host.stats();
  } finally {
    await host.stop();
  }
}

/** Start a relay host, register, run one watcher pass, read its memory, stop it. */
export async function measureRelayMemory(options: MemoryBenchOptions): Promise<MemoryBenchResult> {
  const mlKem = createMlKem1024();
  const hqc = createInThreadHqc256Kem();
  const ml = await mlKem.keygen();
  const hq = await hqc.keygen();
  ml.secretKey.fill(0);
  hq.secretKey.fill(0);
  const both: { name: KemName; publicKey: Uint8Array }[] = [
    { name: 'ML-KEM-1024', publicKey: ml.publicKey },
    { name: 'HQC-256', publicKey: hq.publicKey },
  ];
  const mlOnly = both.slice(0, 1);

  const host = RelayHost.spawn();
  try {
    const seedLive = options.mode === 'standin' ? (options.seedLive ?? 0) : 0;
    const started = await host.request(
      {
        type: 'start',
        mode: options.mode,
        iface: options.iface,
        seedLive,
        freshParents: options.mode === 'standin' ? (options.freshParents ?? 0) : 0,
        hqcWorkers: options.hqcWorkers,
        maxInflight: Math.max(32, options.concurrency * 2),
        ...(options.poll === undefined ? {} : { poll: options.poll }),
      },
      'started',
      170_000,
    );
    const startedStats = await host.stats();
    const toRegister = options.mode === 'standin' ? started.freshParents.map((key, j) => ({ key, source: seedLive + j })) : (options.parents ?? []).map((key, i) => ({ key, source: i }));

    const failures: Record<string, number> = {};
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const client = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        const job = toRegister[i];
        if (job === undefined) return;
        const request: RegisterRequestInput = {
          wg_parent_pubkey: Buffer.from(job.key, 'base64'),
          wg_ephemeral_peer_pubkey: randomBytes(32),
          post_quantum: {
            kem_pubkeys: (i < options.hqcRegistrations ? both : mlOnly).map((k) => ({ algorithm_name: k.name, key_data: k.publicKey })),
          },
        };
        const c0 = performance.now();
        try {
          await callFromSource(started.address, sourceAddress(job.source), request, 120_000);
          latencies.push(performance.now() - c0);
        } catch (err) {
          const code = isPqpskError(err) ? err.message : 'ERROR';
          failures[code] = (failures[code] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, client));
    const registerSeconds = (performance.now() - t0) / 1000;
    const tick = await host.request({ type: 'tick' }, 'tick', 170_000);
    const loaded = await host.stats();
    await options.beforeStop?.();
    return {
      mode: options.mode,
      peers: loaded.ephemerals,
      registrations: latencies.length,
      hqcRegistrations: Math.min(options.hqcRegistrations, toRegister.length),
      concurrency: options.concurrency,
      started: startedStats,
      loaded,
      startMs: started.startMs,
      registerSeconds,
      registrationsPerSecond: latencies.length / registerSeconds,
      latencyP50Ms: percentileOf(latencies, 0.5),
      pollerTickMs: tick.ms,
      failures,
      hostPid: started.pid,
    };
  } finally {
    await host.stop();
  }
}
