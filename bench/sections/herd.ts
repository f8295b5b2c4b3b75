/**
 * Section 10: a relay restart under a herd. The relay as installed (`pqpsk server` with
 * every default, rate limits in force) on the `wg` stand-in with N parents whose
 * ephemerals are live, restarted (SIGTERM, then a new process: no ephemeral survives);
 * N watchers, each driven by the watcher's own policy and backoff, notice over the first
 * seconds and renegotiate. Figures: when 50 / 99 / 100 % held a fresh PSK, the new
 * relay's event-loop lag and /healthz round trips throughout, its peak RSS, how many
 * clients gave up, and the CPU the load generator itself took (with the load average,
 * since other work on the machine shares the same two cores).
 */
import { loadavg } from 'node:os';
import { measureHerd, type HerdBenchResult } from '../harness/relay-herd.js';
import { f0, f1 } from '../harness/stats.js';
import { statusOf, type BenchSection, type NotMeasured, type TargetLine } from '../section.js';

/** The herd's figures with the load average at its end (the machine's other work shares its cores), or why there are none. */
export type HerdSection = NotMeasured | ({ readonly measured: true; readonly loadAverage: readonly number[] } & HerdBenchResult);

/** The goals this section is held against. */
export const HERD_LIMITS = Object.freeze({ t99Ms: 60_000, eventLoopP99Ms: 50, healthzMaxMs: 1000, gaveUpOrUnhealed: 0 });

const s = (ms: number | null): string => (ms === null ? 'not reached' : `${f1(ms / 1000)} s`);

/** The section as report.ts lists it. */
export const herdSection: BenchSection<'herd'> = {
  key: 'herd',
  heading: '10. Relay restart under a herd (`pqpsk server` as installed, wg stand-in; every watcher renegotiates with its own backoff)',
  async measure(ctx) {
    const { herdClients: clients, herdSpreadMs: detectSpreadMs, herdHorizonMs: horizonMs } = ctx.plan;
    ctx.say(`relay restart under a herd: ${clients} clients noticing over ${detectSpreadMs / 1000} s, at most ${horizonMs / 1000} s`);
    const r = await measureHerd({ clients, detectSpreadMs, horizonMs, say: ctx.say });
    return { measured: true, loadAverage: loadavg(), ...r };
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(h) {
    if (!h.measured) return [`   not measured: ${h.reason}`];
    const cores = (ms: number): string => `${f0(ms)} ms (${f1(ms / h.wallMs)} cores)`;
    const counts = (r: Readonly<Record<string, number>>): string => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const failures = counts(h.failures);
    return [
      `   ${h.clients} clients (${h.kems.join(' + ')}), noticing over ${f1(h.detectSpreadMs / 1000)} s; old relay stopped in ${f0(h.stopMs)} ms, new one served /healthz ${f0(h.startMs)} ms after it was started`,
      `   fresh PSK held by 50 % / 99 % / 100 % of clients: ${s(h.t50Ms)} / ${s(h.t99Ms)} / ${s(h.t100Ms)} after the SIGTERM`,
      `   holding a fresh PSK every 10 s: ${h.healedEvery10s.join(' ')}`,
      `   gave up: ${h.gaveUp}; still unhealed at ${f0(h.horizonMs / 1000)} s: ${h.unhealed}; ${h.calls} attempts (at most ${h.maxAttempts} for one client), failed: ${failures}`,
      `   the new relay answered: ${counts(h.relayResults)}; connections it closed on accept, by cap: ${counts(h.refusedConnections)}`,
      `   new relay: event-loop p99 ${f1(h.eventLoopP99Ms)} ms (max ${f0(h.eventLoopMaxMs)} ms); /healthz p50 ${f1(h.healthzMs.p50)} ms, p99 ${f1(h.healthzMs.p99)} ms, max ${f0(h.healthzMs.max)} ms over ${h.healthzMs.count} probes (${h.healthzFailed} failed); peak RSS ${f0(h.rssPeakMb)} MB`,
      `   CPU over ${f1(h.wallMs / 1000)} s: new relay ${cores(h.relayCpuMs)}, load generator ${cores(h.loadCpuMs)}, wg stand-in ${cores(h.standinCpuMs)}; load average at the end ${h.loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
    ];
  },
  targets(h): TargetLine[] {
    const m = h.measured ? h : null;
    const note = m === null ? (h as NotMeasured).reason : '';
    const line = (target: string, value: number | null, limit: number, unit: string, extra = ''): TargetLine => ({
      target,
      value,
      limit,
      unit,
      // A share never reached within the horizon is a miss, not a missing figure.
      status: m !== null && value === null ? 'miss' : statusOf(value, limit, true),
      note: note || extra,
    });
    const clients = m?.clients ?? 10_000;
    return [
      line(`herd of ${clients}: 99 % hold a fresh PSK within ${HERD_LIMITS.t99Ms / 1000} s of a relay restart`, m === null ? null : m.t99Ms === null ? null : m.t99Ms / 1000, HERD_LIMITS.t99Ms / 1000, 's', m?.t99Ms === null ? 'not reached by the horizon' : ''),
      line(`herd: relay event-loop p99 ≤ ${HERD_LIMITS.eventLoopP99Ms} ms`, m?.eventLoopP99Ms ?? null, HERD_LIMITS.eventLoopP99Ms, 'ms'),
      line(`herd: /healthz round trip ≤ ${HERD_LIMITS.healthzMaxMs} ms throughout (max)`, m?.healthzMs.max ?? null, HERD_LIMITS.healthzMaxMs, 'ms'),
      line('herd: clients that gave up or were still unhealed at the horizon = 0', m === null ? null : m.gaveUp + m.unhealed, HERD_LIMITS.gaveUpOrUnhealed, 'clients'),
    ];
  },
};
