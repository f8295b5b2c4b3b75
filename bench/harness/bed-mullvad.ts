/**
 * Mullvad's own client for wg-quick users (`mullvad-upgrade-tunnel`, Go) and `pqpsk
 * negotiate` side by side: one bed, one `pqpsk server`, the clients' runs interleaved so
 * that load from elsewhere on the machine weighs on all of them alike. Every run starts
 * from the same state: the interface on its parent key without a PSK, a session on that
 * key more than a second old, the relay routing the parent.
 *
 * "Start → switched" is timed the same way for both: from just before the process is
 * spawned (through `ip netns exec`) until `wg show <if> public-key`, polled back to back
 * while the process runs, first returns a key other than the parent's. The key changed
 * between the end of the last poll that saw the parent and the end of the first that did
 * not: the figure is the middle of that span (± half a poll, reported beside it), and
 * never later than the process's exit, since both clients switch before they exit. The
 * polls run `wg` from a small helper process (not a fork of this one, whose size would
 * slow every poll) in the root namespace, which reaches the interface's UAPI socket
 * without the cost of `ip netns exec`. Neither client's own report is used for it:
 * Mullvad's prints nothing, and ours starts its clock after node has started. Its
 * `--json` gives the switch → verified figure, which only ours has.
 *
 * The binary is not part of pqpsk: it lies in `shared/peers/` beside the repository,
 * checked against the digest of the one build we know.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isPqpskError } from '../../src/errors.js';
import { bedPrerequisites, buildSingleHop, parseNegotiateJson, runNegotiate, startRelayServer, type Bed, type RunResult, type SingleHopTopology } from '../../src/testbed/index.js';
import { RealWgControl } from '../../src/wg/real.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import type { NotMeasured } from '../section.js';
import { medianOf } from './stats.js';
import { MULLVAD_CLIENT, mullvadClientProblem } from '../../test/fixtures/mullvad-client.js';

/** The three clients timed: Mullvad's with ML-KEM-1024 alone, ours with the same, ours with its default pair. */
export const CLIENT_KINDS = ['mullvad -kem mlkem', 'pqpsk --kem ML-KEM-1024', 'pqpsk --kem ML-KEM-1024,HQC-256'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** One timed run of one client. */
export interface SideBySideSample {
  readonly kind: ClientKind;
  /** Spawn → the first poll that sees the new key, ms. */
  readonly startToSwitchedMs: number;
  /** Spawn → exit, ms. */
  readonly processMs: number;
  /** Ours only (`--json`): switch → verified, ms. */
  readonly verifyMs: number | null;
  /** Ours only (`--json`): negotiate() start → switched, i.e. without node's start-up and module loading, ms. */
  readonly inProcessMs: number | null;
}

/** The runs, or why there are none. */
export type SideBySideResult =
  | NotMeasured
  | {
      readonly measured: true;
      readonly runs: number;
      readonly samples: readonly SideBySideSample[];
      /** Median duration of one `wg show public-key` poll: the resolution of start → switched. */
      readonly pollMs: number;
      readonly leftovers: readonly string[];
    };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Build a single-hop bed, time one untimed warm-up and then `runs` rounds of every client
 * kind (the order rotating each round), tear it down.
 */
export async function measureClientsSideBySide(runs: number): Promise<SideBySideResult> {
  const prereq = bedPrerequisites();
  if (!prereq.ok) return { measured: false, reason: `real bed unavailable: ${prereq.reason}` };
  const problem = mullvadClientProblem();
  if (problem !== null) return { measured: false, reason: problem };

  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-bench-mullvad-'));
  let built: Awaited<ReturnType<typeof buildSingleHop>> | undefined;
  let parentKey: Uint8Array | undefined;
  const spawner = new WgSpawner();
  try {
    built = await buildSingleHop();
    const { bed, topology: t } = built;
    // Every run registers the same parent: lift the per-parent limit so no run is refused.
    await startRelayServer(bed, t.relay, stateDir, ['--rate-limit', '1000/1000']);
    parentKey = await bed.wg(t.client.namespace).readPrivateKey(t.client.iface);
    const samples: SideBySideSample[] = [];
    const polls: number[] = [];
    const poller = new RealWgControl({ launcher: spawner });
    for (let round = 0; round <= runs; round++) {
      for (let k = 0; k < CLIENT_KINDS.length; k++) {
        const kind = CLIENT_KINDS[(round + k) % CLIENT_KINDS.length]!;
        await backToParent(bed, t, parentKey);
        const sample = await timeOneRun(bed, t, kind, poller, polls);
        // Round 0 warms the relay (its first HQC-256 and ML-KEM operations compile).
        if (round > 0) samples.push(sample);
      }
    }
    const teardown = await bed.teardown();
    return { measured: true, runs, samples, pollMs: medianOf(polls), leftovers: teardown.leftovers };
  } catch (err) {
    return { measured: false, reason: `side-by-side run failed: ${isPqpskError(err) ? err.message : err instanceof Error ? err.message.split('\n')[0] : 'unexpected error'}` };
  } finally {
    spawner.close();
    parentKey?.fill(0);
    await built?.bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Spawn one client, poll the interface's public key until it changes, wait for the exit. */
async function timeOneRun(bed: Bed, t: SingleHopTopology, kind: ClientKind, poller: RealWgControl, polls: number[]): Promise<SideBySideSample> {
  const iface = t.client.iface;
  const stamp: { exitedAt: number | null } = { exitedAt: null };
  const t0 = performance.now();
  const run: Promise<RunResult> = (
    kind === 'mullvad -kem mlkem'
      ? bed.runIn(t.client.namespace, [MULLVAD_CLIENT, '-wg-interface', iface, '-kem', 'mlkem'], { timeoutMs: 60_000 })
      : runNegotiate(bed, t.client.namespace, ['--interface', iface, '--config-service', `${t.relay.serviceAddress}:1337`, '--kem', kind.slice('pqpsk --kem '.length), '--json', '--max-attempts', '1'], 60_000)
  ).then((r) => {
    stamp.exitedAt = performance.now();
    return r;
  });
  let switchedAt: number | null = null;
  let lastParentSeen = t0;
  while (switchedAt === null) {
    const exitedBefore = stamp.exitedAt !== null;
    const a = performance.now();
    const key = await poller.publicKey(iface);
    const b = performance.now();
    polls.push(b - a);
    if (key !== t.client.publicKey) switchedAt = (lastParentSeen + b) / 2;
    else if (exitedBefore) break;
    else lastParentSeen = b;
  }
  const result = await run;
  if (switchedAt !== null && stamp.exitedAt !== null) switchedAt = Math.min(switchedAt, stamp.exitedAt);
  if (result.exitCode !== 0 || switchedAt === null) {
    const why = result.stderr.trim().split('\n').pop() || `exit code ${result.exitCode}`;
    throw new Error(`${kind}: ${switchedAt === null ? 'the interface never switched' : 'failed'}: ${why}`);
  }
  const report = kind === 'mullvad -kem mlkem' ? null : parseNegotiateJson(result.stdout);
  const verifyMs = report?.hops[0]?.timings.verifyMs ?? null;
  const inProcessMs = report === null || verifyMs === null ? null : report.totalMs - verifyMs;
  return { kind, startToSwitchedMs: switchedAt - t0, processMs: (stamp.exitedAt ?? performance.now()) - t0, verifyMs, inProcessMs };
}

/**
 * Back to the parent key without a PSK, as before an upgrade. The relay tells which key
 * its client uses by the later handshake, counted in whole seconds: the new key's
 * handshake is made first (a ping) and its second let pass before the parent takes over;
 * the parent's own handshake second is let pass too, so no client waits it out.
 */
async function backToParent(bed: Bed, t: SingleHopTopology, parentKey: Uint8Array): Promise<void> {
  const wg = bed.wg(t.client.namespace);
  if ((await wg.publicKey(t.client.iface)) !== t.client.publicKey) {
    await pingUntilAnswered(bed, t);
    await sleep(1100);
    await wg.set(t.client.iface, { privateKey: parentKey, peers: [{ publicKey: t.relay.publicKey, presharedKey: null }] });
  }
  await pingUntilAnswered(bed, t);
  await sleep(1100);
}

async function pingUntilAnswered(bed: Bed, t: SingleHopTopology): Promise<void> {
  for (let i = 0; i < 15; i++) if ((await bed.ping(t.client.namespace, t.relay.gateway, { count: 1, waitSeconds: 1 })).exitCode === 0) return;
  throw new Error(`no ping answer from ${t.relay.gateway} through the client's tunnel`);
}
