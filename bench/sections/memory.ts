/**
 * Section 4: the relay's resident memory, in a process of its own — idle, holding 10 000
 * ephemeral peers on the benchmark's `wg` stand-in, and after 1 000 registrations on
 * wireguard-go. On the stand-in the relay runs as in production (it spawns `wg` through
 * its helper process and parses the text), while the interface lives in the stand-in's
 * own process, as WireGuard's lives in the kernel: neither is in the relay's figure.
 */
import { readFile } from 'node:fs/promises';
import { RealWgControl } from '../../src/wg/real.js';
import type { HostStats } from '../harness/relay-host.js';
import { measureIdleRelay, measureRelayMemory, randomParents, type MemoryBenchResult } from '../harness/relay-memory.js';
import { sourceAddress } from '../harness/source-address.js';
import { f0, f1, mb, mib } from '../harness/stats.js';
import { describeStandin } from '../harness/wg-standin.js';
import { isMeasured, reasonOf, statusOf, unmeasuredTarget, type BenchContext, type BenchSection, type NotMeasured } from '../section.js';

/** The three memory figures: an idle relay for scale, 10 000 peers in memory, 1 000 on wireguard-go. */
export interface MemorySection {
  readonly idle: HostStats | NotMeasured;
  readonly tenThousand: MemoryBenchResult | NotMeasured;
  readonly realThousand: (MemoryBenchResult & { readonly wireguardGoRssBytes: number }) | NotMeasured;
}

/** The goal this section is held against. */
export const MEMORY_LIMITS = Object.freeze({ rssBytesAt10k: 150 * 1048576 });

const RSS_TARGET = 'RSS ≤ 150 MB at 10 000 ephemeral peers';

async function rssOfPid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kib === undefined ? Number.NaN : Number(kib) * 1024;
}

/** `measure`, or the failure as a NotMeasured (one figure failing leaves the others). */
async function attempt<T>(ctx: BenchContext, measure: () => Promise<T>): Promise<T | NotMeasured> {
  try {
    return await measure();
  } catch (err) {
    const reason = `failed: ${reasonOf(err)}`;
    ctx.say(reason);
    return { measured: false, reason };
  }
}

/** Registrations on a bare wireguard-go interface, each parent from its own source address. */
async function realThousand(ctx: BenchContext): Promise<MemorySection['realThousand']> {
  const unavailable = ctx.bedUnavailable('wireguard-go memory');
  if (unavailable !== null) return unavailable;
  if (ctx.plan.realPeers === 0) return { measured: false, reason: 'not in this plan' };
  let bare;
  try {
    bare = await ctx.bareInterfaces();
  } catch (err) {
    return { measured: false, reason: `could not start wireguard-go: ${reasonOf(err)}` };
  }
  const iface = bare.ifaces[1]!;
  const pid = bare.pids[1]!;
  return attempt(ctx, async () => {
    ctx.say(`relay memory: ${ctx.plan.realPeers} registrations on wireguard-go`);
    const parents = randomParents(ctx.plan.realPeers);
    await new RealWgControl().set(iface, { peers: parents.map((p, i) => ({ publicKey: p, allowedIps: [`${sourceAddress(i)}/32`] })) });
    let wireguardGoRssBytes = Number.NaN;
    const result = await measureRelayMemory({
      mode: 'real',
      iface,
      parents,
      hqcRegistrations: 50,
      hqcWorkers: 2,
      concurrency: 16,
      beforeStop: async () => {
        wireguardGoRssBytes = await rssOfPid(pid);
      },
    });
    return { ...result, wireguardGoRssBytes };
  });
}

export const memorySection: BenchSection<'memory'> = {
  key: 'memory',
  heading: '4. Relay memory (the relay in a process of its own; RSS 250 ms after a forced GC)',
  async measure(ctx) {
    ctx.say('relay memory: idle relay');
    const idle = await attempt(ctx, () => measureIdleRelay('pqidle0', 2));
    ctx.say(`relay memory: ${ctx.plan.seedLive} live ephemerals + ${ctx.plan.freshParents} registrations`);
    const tenThousand = await attempt(ctx, () =>
      measureRelayMemory({
        mode: 'standin',
        iface: 'pqmem0',
        seedLive: ctx.plan.seedLive,
        freshParents: ctx.plan.freshParents,
        hqcRegistrations: ctx.plan.freshParents,
        hqcWorkers: 2,
        concurrency: 8,
        // One pass at this size takes seconds; it is run once, explicitly, and timed.
        poll: { fastMs: 3_600_000, idleMs: 3_600_000, freshMs: 0 },
      }),
    );
    return { idle, tenThousand, realThousand: await realThousand(ctx) };
  },
  skipped: (reason) => ({ idle: { measured: false, reason }, tenThousand: { measured: false, reason }, realThousand: { measured: false, reason } }),
  format(m) {
    const out: string[] = [];
    const idle = m.idle;
    out.push(isMeasured(idle) ? `   idle relay, 0 peers: RSS ${mb(idle.rssBytes)}, V8 heap used ${mb(idle.heapUsedBytes)}` : `   idle relay: not measured: ${idle.reason}`);
    const ten = m.tenThousand;
    if (isMeasured(ten)) {
      out.push(
        `   ${ten.peers} ephemerals (wg stand-in in its own process; ${ten.peers - ten.registrations} loaded from the book at start, ${ten.registrations} registered over gRPC): RSS ${mb(ten.loaded.rssBytes)}, heap used ${mb(ten.loaded.heapUsedBytes)} (V8 reserves new ${mb(ten.loaded.newSpaceBytes)}, old ${mb(ten.loaded.oldSpaceBytes)})`,
        `      at this size: start-up (book load + reconcile) ${f0(ten.startMs)} ms, registration p50 ${f0(ten.latencyP50Ms)} ms with ${ten.concurrency} clients, one watcher pass ${f0(ten.pollerTickMs)} ms (its wg calls included)`,
        `      ${ten.loaded.wgStandIn === null ? 'wg stand-in: no counts' : describeStandin(ten.loaded.wgStandIn)}`,
      );
    } else {
      out.push(`   10 000 peers: not measured: ${ten.reason}`);
    }
    const real = m.realThousand;
    if (isMeasured(real)) {
      out.push(
        `   ${real.peers} ephemerals registered over gRPC on wireguard-go: relay RSS ${mb(real.loaded.rssBytes)}, heap used ${mb(real.loaded.heapUsedBytes)}; wireguard-go's own RSS ${mb(real.wireguardGoRssBytes)} (not included)`,
        `      filled at ${f1(real.registrationsPerSecond)} regs/s (registration p50 ${f0(real.latencyP50Ms)} ms with ${real.concurrency} clients); one watcher pass ${f0(real.pollerTickMs)} ms`,
      );
    } else {
      out.push(`   1 000 on wireguard-go: not measured: ${real.reason}`);
    }
    return out;
  },
  targets(m) {
    const ten = m.tenThousand;
    if (!isMeasured(ten)) return [unmeasuredTarget(RSS_TARGET, 'MB', ten.reason)];
    const enough = ten.peers >= 10_000;
    return [
      {
        target: RSS_TARGET,
        value: mib(ten.loaded.rssBytes),
        limit: mib(MEMORY_LIMITS.rssBytesAt10k),
        unit: 'MB',
        status: enough ? statusOf(ten.loaded.rssBytes, MEMORY_LIMITS.rssBytesAt10k, true) : 'not measured',
        note: enough ? 'relay process only; WireGuard on the stand-in, in its own process' : `only ${ten.peers} peers in this run (--quick)`,
      },
    ];
  },
};
