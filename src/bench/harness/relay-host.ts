/**
 * A relay in a process of its own, so that its resident memory is the relay's and not the
 * benchmark's: `npm run bench` forks this file (IPC channel), tells it which WgControl to
 * use, and asks it for figures. It runs the production service (startRelayService: gRPC,
 * HQC-256 worker pool, watcher) on 127.0.0.1 with either
 * the real `wg` driving a wireguard-go interface the parent created in a namespace (the
 * UAPI socket directory is shared, so `wg` reaches it by name from here), or the
 * in-memory interface (src/wg/fake.ts, recording off) pre-loaded with live ephemerals for
 * the 10 000-peer figure.
 *
 * Bench-only simplifications: the book is kept in memory (latest version only), where
 * the CLI writes a file; no metrics port; no rate limit.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { PqpskError } from '../../errors.js';
import { EMPTY_BOOK, type EphemeralRecord, type ParentRecord } from '../../protocol/peer-state.js';
import { MemoryBookStore } from '../../server/book-store.js';
import { parseHostPort } from '../../server/listen.js';
import { DEFAULT_POLL, type PollIntervals } from '../../server/relay.js';
import { startRelayService, type RelayService } from '../../server/service.js';
import { FakeWgControl } from '../../wg/fake.js';
import { generatePrivateKey, publicKeyToText } from '../../wg/keys.js';
import { RealWgControl } from '../../wg/real.js';
import { WgSpawner } from '../../wg/spawner.js';
import type { RelayWg, WgPeerChange } from '../../wg/types.js';
import { sourceAddress } from './source-address.js';

/** What the parent asks for. */
export type HostRequest =
  | {
      readonly type: 'start';
      /**
       * `memory`: an in-memory interface (src/wg/fake.ts) seeded here with `seedLive` parents
       * whose ephemerals are live (hold the parent's address, handshook a minute ago) and
       * recorded in the book, plus `freshParents` parents for the caller to register.
       * `real`: the real `wg` on `iface`, which the caller set up (parents included).
       * `standin`: seeded as `memory`, then served by a `wg` stand-in executable that prints
       * the real `wg show` text for every peer, so the relay spawns and parses as in
       * production (test/fixtures/fake-wg/wg with its state in a file).
       */
      readonly mode: 'memory' | 'real' | 'standin';
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
}

/** What the host answers. */
export type HostReply =
  | { readonly type: 'started'; readonly address: string; readonly pid: number; readonly freshParents: readonly string[]; readonly startMs: number }
  | { readonly type: 'stats'; readonly stats: HostStats }
  | { readonly type: 'tick'; readonly ms: number; readonly events: number }
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly message: string };

/** Peer changes per `set` while seeding. */
const SEED_SLICE = 500;

/** The `seedLive` live pairs and `freshParents` parents, on the interface and in the book. */
async function seed(wg: FakeWgControl, iface: string, store: MemoryBookStore, seedLive: number, freshParents: number): Promise<string[]> {
  const now = Date.now();
  const key = (): string => publicKeyToText(randomBytes(32));
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const changes: WgPeerChange[] = [];
  const psk = new Uint8Array(32);
  for (let i = 0; i < seedLive; i++) {
    const parent = key();
    const ephemeral = key();
    const ip = `${sourceAddress(i)}/32`;
    parents.push({ parent, allowedIps: [ip] });
    ephemerals.push({ ephemeral, parent, registeredAt: now - 60_000 });
    randomFillSync(psk);
    changes.push({ publicKey: parent, allowedIps: [] }, { publicKey: ephemeral, presharedKey: psk, allowedIps: [ip] });
  }
  const fresh: string[] = [];
  for (let j = 0; j < freshParents; j++) {
    const parent = key();
    fresh.push(parent);
    changes.push({ publicKey: parent, allowedIps: [`${sourceAddress(seedLive + j)}/32`] });
  }
  // In slices: one `set` of 20 000 changes would leave its validation garbage (argv for
  // every peer) as old-space high-water in the process whose memory is being measured.
  for (let i = 0; i < changes.length; i += SEED_SLICE) await wg.set(iface, { peers: changes.slice(i, i + SEED_SLICE) });
  psk.fill(0);
  const seconds = Math.floor(now / 1000) - 60;
  for (const e of ephemerals) wg.setLatestHandshake(iface, e.ephemeral, seconds);
  await store.save({ parents, ephemerals });
  return fresh;
}

/** The `wg` stand-in executable, compiled beside this file's tree. */
const STAND_IN = fileURLToPath(new URL('../../../../test/fixtures/fake-wg/wg', import.meta.url));

/** Write the seeded interface as the stand-in's state file and drive it through the real WgControl. */
async function standIn(fake: FakeWgControl, iface: string): Promise<RelayWg> {
  const routes = await fake.peerRoutes(iface);
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-bench-standin-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify({ publicKey: await fake.publicKey(iface), privateKey: null, peers: routes.map((p) => ({ ...p, psk: null })) }));
  process.env['FAKE_WG_STATE'] = file;
  return new RealWgControl({ wgPath: STAND_IN, launcher: new WgSpawner() });
}

/** Seed the interface (memory mode), then start the relay; `startMs` times the relay's start alone. */
async function start(request: Extract<HostRequest, { type: 'start' }>): Promise<{ service: RelayService; fresh: string[]; startMs: number }> {
  let wg: RelayWg;
  const store = new MemoryBookStore(EMPTY_BOOK, { latestOnly: true });
  let fresh: string[] = [];
  if (request.mode === 'memory' || request.mode === 'standin') {
    const fake = new FakeWgControl({ record: false });
    const key = generatePrivateKey();
    fake.addInterface(request.iface, { privateKey: key });
    key.fill(0);
    fresh = await seed(fake, request.iface, store, request.seedLive, request.freshParents);
    wg = fake;
    if (request.mode === 'standin') wg = await standIn(fake, request.iface);
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
  return { service, fresh, startMs: performance.now() - t0 };
}

function space(name: string): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_size ?? 0;
}

function send(reply: HostReply): void {
  process.send?.(reply);
}

async function serve(): Promise<void> {
  let service: RelayService | undefined;
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  process.on('message', (message: HostRequest) => {
    void (async () => {
      try {
        switch (message.type) {
          case 'start': {
            const started = await start(message);
            service = started.service;
            send({ type: 'started', address: service.address, pid: process.pid, freshParents: started.fresh, startMs: started.startMs });
            break;
          }
          case 'stats': {
            globalThis.gc?.();
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
