/**
 * `pqpsk demo [--multihop] [--keep]`: the whole story in one command on the real test
 * bed — namespaces, wireguard-go, `pqpsk server` in each relay namespace, `pqpsk
 * negotiate` in the client namespace — then what happened: ephemeral keys, the PSK
 * fingerprints read from BOTH ends of every tunnel (PSKs read into memory, fingerprinted,
 * wiped; never printed), timings, and a ping through the switched tunnel.
 *
 * It drives the bed through src/testbed/pqpsk.ts, as the end-to-end tests and the
 * benchmark do. Loaded only when the command runs (see demo.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPqpskError, messageOf, PqpskError } from '../../errors.js';
import {
  bedPrerequisites,
  buildMultihop,
  buildSingleHop,
  parseNegotiateJson,
  peerPskFingerprint,
  runNegotiate,
  startRelayServer,
  type BedRelay,
} from '../../testbed/index.js';
import { EXIT_GAVE_UP, EXIT_OK, EXIT_USAGE, exitCodeFor } from '../exit-codes.js';
import { formatMs, timingsLine } from '../ms.js';
import type { DemoArgs } from './demo.js';

interface HopCheck {
  readonly label: string;
  readonly clientNs: string;
  readonly relay: BedRelay;
  /** The client's tunnel address the relay must have moved to the ephemeral peer. */
  readonly clientAddress: string;
}

/** Build, negotiate, show; tear down unless `keep` (then the bed lives until Ctrl-C). */
export async function runDemo(options: { multihop: boolean; keep: boolean; print: (line: string) => void }): Promise<boolean> {
  const say = options.print;
  const prereq = bedPrerequisites();
  if (!prereq.ok) throw new PqpskError('SETUP', `cannot build the test bed: ${prereq.reason}`);

  const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-demo-'));
  const built = options.multihop ? await buildMultihop() : await buildSingleHop();
  const bed = built.bed;
  let ok = false;
  try {
    let clientNs: string;
    let args: string[];
    let hops: HopCheck[];
    let pingTargets: string[];
    if (built.topology.kind === 'multihop') {
      const t = built.topology;
      clientNs = t.client.namespace;
      say(`pqpsk demo: nested multihop — client ${t.client.namespace}, entry ${t.entry.namespace}, exit ${t.exit.namespace} (built in ${formatMs(built.buildMs)})`);
      for (const relay of [t.exit, t.entry]) {
        await startRelayServer(bed, relay, stateDir);
        say(`  pqpsk server listening on ${relay.serviceAddress}:1337 in ${relay.namespace}`);
      }
      args = ['--entry', t.client.outer.iface, '--exit', t.client.inner.iface, '--entry-service', `${t.entry.serviceAddress}:1337`, '--exit-service', `${t.exit.serviceAddress}:1337`];
      hops = [
        { label: 'exit', clientNs, relay: t.exit, clientAddress: `${t.client.inner.address}/32` },
        { label: 'entry', clientNs, relay: t.entry, clientAddress: `${t.client.outer.address}/32` },
      ];
      pingTargets = [t.exit.gateway, t.entry.gateway];
    } else {
      const t = built.topology;
      clientNs = t.client.namespace;
      say(`pqpsk demo: single hop — client ${t.client.namespace}, relay ${t.relay.namespace} (built in ${formatMs(built.buildMs)})`);
      await startRelayServer(bed, t.relay, stateDir);
      say(`  pqpsk server listening on ${t.relay.serviceAddress}:1337 in ${t.relay.namespace}`);
      args = ['--interface', t.client.iface, '--config-service', `${t.relay.serviceAddress}:1337`];
      hops = [{ label: 'single', clientNs, relay: t.relay, clientAddress: `${t.client.address}/32` }];
      pingTargets = [t.relay.gateway];
    }

    say(`  running: pqpsk negotiate ${args.join(' ')} --json --verbose   (in ${clientNs})`);
    const run = await runNegotiate(bed, clientNs, [...args, '--json', '--verbose', '--max-attempts', '3']);
    for (const line of run.stderr.trim().split('\n')) if (line !== '') say(`    ${line}`);
    if (run.exitCode !== 0) {
      say(`  negotiate failed (exit code ${run.exitCode})`);
      return false;
    }
    const report = parseNegotiateJson(run.stdout);
    say(`  switched and verified in ${report.attempts} attempt${report.attempts === 1 ? '' : 's'}, ${formatMs(report.totalMs)} in all`);

    let allMatch = true;
    for (const check of hops) {
      const hop = report.hops.find((h) => h.role === check.label);
      if (hop === undefined) throw new PqpskError('INTERNAL', `negotiate reported no ${check.label} hop`);
      const clientFp = await peerPskFingerprint(check.clientNs, hop.interface, hop.peer);
      const relayFp = await peerPskFingerprint(check.relay.namespace, check.relay.iface, hop.ephemeralPublicKey);
      const relayState = await bed.wg(check.relay.namespace).show(check.relay.iface);
      const holder = relayState.peers.find((p) => p.allowedIps.includes(check.clientAddress))?.publicKey ?? '(nobody)';
      const match = clientFp !== null && clientFp === relayFp && clientFp === hop.pskFingerprint;
      const moved = holder === hop.ephemeralPublicKey;
      allMatch &&= match && moved;
      say(`  ${check.label} hop, interface ${hop.interface}:`);
      say(`    parent key ${hop.parentPublicKey}  →  ephemeral key ${hop.ephemeralPublicKey}`);
      say(`    KEMs ${hop.algorithms.join(' + ')}`);
      say(`    PSK fingerprint  client ${clientFp ?? '(none)'}   relay ${relayFp ?? '(none)'}   ${match ? 'identical' : 'MISMATCH'}`);
      say(`    relay routes ${check.clientAddress} to ${holder === hop.ephemeralPublicKey ? 'the ephemeral peer' : holder}`);
      say(`    timings: ${timingsLine(hop.timings)}`);
    }

    let pings = true;
    for (const target of pingTargets) {
      const ping = await bed.ping(clientNs, target);
      const summary = /(\d+) packets transmitted, (\d+) received/.exec(ping.stdout);
      const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.stdout);
      pings &&= ping.exitCode === 0;
      say(`  ping ${target} through the switched tunnel${options.multihop && target === pingTargets[0] ? 's' : ''}: ${summary ? `${summary[2]}/${summary[1]} received` : 'failed'}${rtt ? `, rtt avg ${formatMs(Number(rtt[1]))}` : ''}`);
    }
    ok = allMatch && pings;
    say(ok ? '  result: every tunnel carries its post-quantum PSK, identical on both ends' : '  result: FAILED (see above)');

    if (options.keep) {
      say(`  --keep: the bed stays up; explore it, e.g.:`);
      say(`    sudo ip netns exec ${clientNs} wg show`);
      for (const h of hops) say(`    sudo ip netns exec ${h.relay.namespace} wg show ${h.relay.iface}`);
      say('  press Ctrl-C to tear it down');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    return ok;
  } finally {
    const down = await bed.teardown();
    await rm(stateDir, { recursive: true, force: true });
    say(`  torn down in ${formatMs(down.durationMs)}${down.leftovers.length > 0 ? `; LEFT OVER: ${down.leftovers.join(', ')}` : ''}`);
  }
}

/** Run the demo as the arguments say, print it, set the exit code. */
export async function run(args: DemoArgs): Promise<void> {
  try {
    const ok = await runDemo({ multihop: args.multihop, keep: args.keep, print: (line) => process.stdout.write(`${line}\n`) });
    process.exitCode = ok ? EXIT_OK : EXIT_GAVE_UP;
  } catch (err) {
    process.stderr.write(`pqpsk demo: ${messageOf(err)}\n`);
    process.exitCode = isPqpskError(err) ? exitCodeFor(err) : EXIT_USAGE;
  }
}
