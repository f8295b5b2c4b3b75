/**
 * Client negotiation on the real bed: wireguard-go in two per-run namespaces, `pqpsk
 * server` in the relay namespace, `pqpsk negotiate --json` run in the client namespace
 * (a fresh process each time, as an operator runs it), exactly as `pqpsk demo` and the
 * end-to-end tests drive them. All traffic starts inside the bed's namespaces. The
 * relay's own log lines give its side of each RPC (handler and encapsulation times).
 *
 * One negotiation is made first and not counted: it warms the relay process (its first
 * HQC-256 operation compiles the WebAssembly tiers); each counted negotiation starts from
 * the key the previous one switched to, as a client renegotiating does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isPqpskError } from '../../src/errors.js';
import { bedPrerequisites, buildSingleHop, parseNegotiateJson, runNegotiate, startRelayServer, writeParentConfig, type BedProcess, type JsonHop } from '../../src/testbed/index.js';
import { medianOf } from './stats.js';

/** Medians over the counted negotiations, ms. */
export interface NegotiationMedians {
  readonly keygenMs: number;
  readonly rpcMs: number;
  readonly decapsMs: number;
  readonly switchMs: number;
  readonly verifyMs: number;
  /** keygen + rpc + decaps + switch: the hop's total without verification. */
  readonly withoutVerifyMs: number;
  /** The hop's total: exchange, switch and verification. */
  readonly totalMs: number;
  /** negotiate() from start to end: also reads the interface and may wait out the current handshake second. */
  readonly negotiateMs: number;
  /** `pqpsk negotiate` from spawn to exit, node start-up included. */
  readonly processMs: number;
  /** Per run, the process's wall time minus its own negotiation total (`totalMs` of --json): start-up, loading, exit. */
  readonly processOverheadMs: number;
  /** The relay's handler time per registration (from its log). */
  readonly relayHandlerMs: number;
  readonly relayEncapsMs: Readonly<Record<string, number>>;
}

/** One negotiation's hop timings, ms. */
export type NegotiationSample = JsonHop['timings'];

/** The figures, or why there are none (no root, no wireguard-go, a failed negotiation). */
export type NegotiationBenchResult =
  | { readonly measured: true; readonly runs: number; readonly medians: NegotiationMedians; readonly samples: readonly NegotiationSample[]; readonly bedBuildMs: number; readonly teardownMs: number; readonly leftovers: readonly string[] }
  | { readonly measured: false; readonly reason: string };

/** Build a single-hop bed, negotiate `runs` times (+1 warm-up), tear it down. */
export async function measureNegotiation(runs: number): Promise<NegotiationBenchResult> {
  const prereq = bedPrerequisites();
  if (!prereq.ok) return { measured: false, reason: `real bed unavailable: ${prereq.reason}` };

  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-bench-negotiate-'));
  let built: Awaited<ReturnType<typeof buildSingleHop>> | undefined;
  try {
    built = await buildSingleHop();
    const { bed, topology: t } = built;
    const server: BedProcess = await startRelayServer(bed, t.relay, stateDir);
    // Every run after the first finds the client on a PSK; the wg-quick file tells pqpsk
    // the parent key to fall back to, as it would on a real client.
    const configFile = join(stateDir, `${t.client.iface}.conf`);
    await writeParentConfig(bed, t.client.namespace, t.client.iface, configFile);
    const args = ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--config-file', configFile, '--json', '--max-attempts', '1'];
    const hops: JsonHop[] = [];
    const negotiateMs: number[] = [];
    const processMs: number[] = [];
    let logLines = 0;
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const run = await runNegotiate(bed, t.client.namespace, args, 60_000);
      const elapsed = performance.now() - t0;
      if (run.exitCode !== 0) {
        const why = run.stderr.trim().split('\n').pop() ?? `exit code ${run.exitCode}`;
        return { measured: false, reason: `negotiation ${i + 1} failed: ${why}` };
      }
      const report = parseNegotiateJson(run.stdout);
      if (i === 0) {
        logLines = registrationRecords(server).length;
        continue;
      }
      hops.push(report.hops[0]!);
      negotiateMs.push(report.totalMs);
      processMs.push(elapsed);
    }
    const records = registrationRecords(server).slice(logLines);
    const kemNames = [...new Set(records.flatMap((r) => Object.keys(r.encaps_ms ?? {})))];
    const pick = (f: (x: JsonHop['timings']) => number): number => medianOf(hops.map((h) => f(h.timings)));
    const teardown = await bed.teardown();
    return {
      measured: true,
      runs,
      samples: hops.map((h) => h.timings),
      bedBuildMs: built.buildMs,
      teardownMs: teardown.durationMs,
      leftovers: teardown.leftovers,
      medians: {
        keygenMs: pick((x) => x.keygenMs),
        rpcMs: pick((x) => x.rpcMs),
        decapsMs: pick((x) => x.decapsMs),
        switchMs: pick((x) => x.switchMs),
        verifyMs: pick((x) => x.verifyMs),
        withoutVerifyMs: pick((x) => x.totalMs - x.verifyMs),
        totalMs: pick((x) => x.totalMs),
        negotiateMs: medianOf(negotiateMs),
        processMs: medianOf(processMs),
        processOverheadMs: medianOf(processMs.map((ms, i) => ms - negotiateMs[i]!)),
        relayHandlerMs: medianOf(records.map((r) => r.ms)),
        relayEncapsMs: Object.fromEntries(kemNames.map((k) => [k, medianOf(records.map((r) => r.encaps_ms?.[k] ?? Number.NaN).filter((v) => !Number.isNaN(v)))])),
      },
    };
  } catch (err) {
    return { measured: false, reason: `bed negotiation failed: ${isPqpskError(err) ? err.message : err instanceof Error ? err.message : 'unexpected error'}` };
  } finally {
    await built?.bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
}

interface RegistrationRecord {
  readonly ms: number;
  readonly result?: string;
  readonly encaps_ms?: Record<string, number>;
}

/** The relay's successful registration records so far (its stdout is one JSON object per line). */
function registrationRecords(server: BedProcess): RegistrationRecord[] {
  const out: RegistrationRecord[] = [];
  for (const line of server.output().stdout.split('\n')) {
    if (!line.includes('"event":"registration"')) continue;
    try {
      const record = JSON.parse(line) as RegistrationRecord;
      if (record.result === 'ok') out.push(record);
    } catch {
      // a partial line at the end of the buffer
    }
  }
  return out;
}
