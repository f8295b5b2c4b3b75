/**
 * A relay in a process of its own, so that its resident memory is the relay's and not the
 * benchmark's: `npm run bench` forks this file (IPC channel), tells it which WgControl to
 * use, and asks it for figures. It runs the production service (startRelayService: gRPC,
 * HQC-256 worker pool, watcher) on 127.0.0.1 with the production WgControl (the relay
 * spawns `wg` through its helper process and parses what it prints), on either
 * - a wireguard-go interface the parent created in a namespace (the UAPI socket
 *   directory is shared, so `wg` reaches it by name from here), or
 * - the benchmark's `wg` stand-in (wg-standin.ts): a child process of this one that holds
 *   the interface in memory and answers a thin `wg` executable with the text real `wg`
 *   prints, seeded with live ephemerals for the 10 000-peer figures. The interface lives
 *   outside the relay process, as WireGuard's lives in the kernel in production.
 *
 * Bench-only simplifications: the book is kept in memory (latest version only), where
 * the CLI writes a file; no metrics port; no rate limit.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { PqpskError } from '../../src/errors.js';
import { EMPTY_BOOK, type EphemeralRecord, type ParentRecord, type RelayBook } from '../../src/protocol/relay-book.js';
import { MemoryBookStore } from '../../test/fixtures/memory-book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { DEFAULT_POLL, type PollIntervals } from '../../src/server/handshake-poller.js';
import { startRelayService, type RelayService } from '../../src/server/service.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import { RealWgControl } from '../../src/wg/real.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import type { RelayWg } from '../../src/wg/types.js';
import { sourceAddress } from './source-address.js';
import { WgStandin, type StandinCounts, type StandinSeedPeer } from './wg-standin.js';

/** What the parent asks for. */
export type HostRequest =
  | {
      readonly type: 'start';
      /**
       * `standin`: the benchmark's `wg` stand-in, seeded with `seedLive` parents whose
       * ephemerals are live (hold the parent's address, handshook a minute ago) and
       * recorded in the book, plus `freshParents` parents for the caller to register.
       * `real`: the real `wg` on `iface`, which the caller set up (parents included).
       */
      readonly mode: 'real' | 'standin';
      readonly iface: string;
      readonly seedLive: number;
      readonly freshParents: number;
      readonly hqcWorkers: number;
      readonly maxInflight: number;
      readonly poll?: PollIntervals;
    }
  | { readonly type: 'stats' }
  | { readonly type: 'tick' }
  | { readonly type: 'stop' };

/** Memory and load figures of the relay process. */
export interface HostStats {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** V8's young generation and old space as reserved now (main thread only). */
  readonly newSpaceBytes: number;
  readonly oldSpaceBytes: number;
  readonly externalBytes: number;
  readonly ephemerals: number;
  readonly parents: number;
  /** CPU of the whole process (main thread and HQC workers) since start, ms. */
  readonly cpuMs: number;
  /** Event-loop timer since the previous stats request, ms (20 ms sampling). */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
  /** `standin` mode: what the stand-in served and refused (its CPU is not in `cpuMs`). */
  readonly wgStandIn: StandinCounts | null;
}

/** What the host answers. */
export type HostReply =
  | { readonly type: 'started'; readonly address: string; readonly pid: number; readonly freshParents: readonly string[]; readonly startMs: number }
  | { readonly type: 'stats'; readonly stats: HostStats }
  | { readonly type: 'tick'; readonly ms: number; readonly events: number }
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly message: string };

/**
 * The `seedLive` live pairs and `freshParents` parents: each parent holds its source
 * address, each live ephemeral holds its parent's address, a PSK, and handshook a minute
 * ago; the pairs are in the book as the relay recorded them.
 */
function seedPlan(seedLive: number, freshParents: number): { peers: StandinSeedPeer[]; book: RelayBook; fresh: string[] } {
  const now = Date.now();
  const handshook = Math.floor(now / 1000) - 60;
  const key = (): string => publicKeyToText(randomBytes(32));
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const peers: StandinSeedPeer[] = [];
  for (let i = 0; i < seedLive; i++) {
    const parent = key();
    const ephemeral = key();
    const ip = `${sourceAddress(i)}/32`;
    parents.push({ parent, allowedIps: [ip] });
    ephemerals.push({ ephemeral, parent, registeredAt: now - 60_000 });
    peers.push({ publicKey: parent, allowedIps: [], latestHandshake: 0, psk: false }, { publicKey: ephemeral, allowedIps: [ip], latestHandshake: handshook, psk: true });
  }
  const fresh: string[] = [];
  for (let j = 0; j < freshParents; j++) {
    const parent = key();
    fresh.push(parent);
    peers.push({ publicKey: parent, allowedIps: [`${sourceAddress(seedLive + j)}/32`], latestHandshake: 0, psk: false });
  }
  return { peers, book: { parents, ephemerals }, fresh };
}

/** How long after a forced collection the resident set is read. */
const GC_SETTLE_MS = 250;

/** Seed the interface and the book, then start the relay; `startMs` times the relay's start alone. */
async function start(request: Extract<HostRequest, { type: 'start' }>): Promise<{ service: RelayService; fresh: string[]; startMs: number; standin: WgStandin | null }> {
  let wg: RelayWg;
  let standin: WgStandin | null = null;
  const store = new MemoryBookStore(EMPTY_BOOK, { latestOnly: true });
  let fresh: string[] = [];
  if (request.mode === 'standin') {
    const plan = seedPlan(request.seedLive, request.freshParents);
    fresh = plan.fresh;
    await store.save(plan.book);
    standin = await WgStandin.start(request.iface, publicKeyToText(randomBytes(32)), plan.peers);
    wg = new RealWgControl({ wgPath: standin.wgPath, launcher: new WgSpawner() });
  } else {
    wg = new RealWgControl({ launcher: new WgSpawner() });
  }
  const t0 = performance.now();
  const service = await startRelayService({
    iface: request.iface,
    listen: parseHostPort('listen', '127.0.0.1:0'),
    wg,
    store,
    rateLimit: null,
    maxInflight: request.maxInflight,
    hqcWorkers: request.hqcWorkers,
    poll: request.poll ?? DEFAULT_POLL,
  });
  return { service, fresh, startMs: performance.now() - t0, standin };
}

function space(name: string): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_size ?? 0;
}

function send(reply: HostReply): void {
  process.send?.(reply);
}

async function serve(): Promise<void> {
  let service: RelayService | undefined;
  let standin: WgStandin | null = null;
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  process.on('message', (message: HostRequest) => {
    void (async () => {
      try {
        switch (message.type) {
          case 'start': {
            const started = await start(message);
            service = started.service;
            standin = started.standin;
            send({ type: 'started', address: service.address, pid: process.pid, freshParents: started.fresh, startMs: started.startMs });
            break;
          }
          case 'stats': {
            const wgStandIn = standin === null ? null : await standin.counts();
            globalThis.gc?.();
            // V8 hands the pages a collection freed back to the system from a background
            // task; read the resident set once that has run, not in the same instant.
            await new Promise((resolve) => setTimeout(resolve, GC_SETTLE_MS));
            const memory = process.memoryUsage();
            const cpu = process.cpuUsage();
            const book = service?.relay.book ?? EMPTY_BOOK;
            send({
              type: 'stats',
              stats: {
                rssBytes: memory.rss,
                heapUsedBytes: memory.heapUsed,
                heapTotalBytes: memory.heapTotal,
                newSpaceBytes: space('new_space'),
                oldSpaceBytes: space('old_space'),
                externalBytes: memory.external,
                ephemerals: book.ephemerals.length,
                parents: book.parents.length,
                cpuMs: (cpu.user + cpu.system) / 1000,
                loopP99Ms: loop.percentile(99) / 1e6,
                loopMaxMs: loop.max / 1e6,
                wgStandIn,
              },
            });
            loop.reset();
            break;
          }
          case 'tick': {
            if (service === undefined) throw new PqpskError('INTERNAL', 'relay host: not started');
            const t0 = performance.now();
            const events = await service.relay.tick();
            send({ type: 'tick', ms: performance.now() - t0, events: events.length });
            break;
          }
          case 'stop':
            await service?.stop();
            await standin?.stop();
            send({ type: 'stopped' });
            process.disconnect?.();
            break;
        }
      } catch (err) {
        send({ type: 'error', message: err instanceof PqpskError ? err.message : 'unexpected error in the relay host' });
      }
    })();
  });
  // The parent going away (crash, Ctrl-C) takes the relay with it.
  process.on('disconnect', () => {
    void (service?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

if (process.send !== undefined) await serve();
