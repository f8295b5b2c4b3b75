/**
 * What `pqpsk negotiate` does: give an existing WireGuard tunnel (or a multihop pair) a
 * post-quantum PSK from the relay's config service. Prints the result or one line saying
 * why not. Loaded only when the command runs (see negotiate.ts).
 */
import { PqpskError, isPqpskError } from '../../errors.js';
import { createClientKems, parseKemList } from '../../client/kems.js';
import { negotiate, type MssGuard } from '../../client/negotiate.js';
import { parseService } from '../../client/probe.js';
import type { ClientEvent, HopReport, HopSpec, NegotiationReport } from '../../client/types.js';
import { readPresharedKey } from '../../wg/psk-read.js';
import { RealWgControl } from '../../wg/real.js';
import { clampHostRoute } from '../../wg/route.js';
import { parseDuration } from '../duration.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { NegotiateArgs } from './negotiate.js';

/** The hops the arguments describe (single hop, or entry + exit), checked. */
export function hopsFromArgs(args: NegotiateArgs): HopSpec[] {
  const multihop = args.entry !== undefined || args.exit !== undefined;
  if (multihop) {
    if (args.interface !== undefined) throw new PqpskError('INVALID_INPUT', '--interface: not with --entry/--exit');
    if (args.entry === undefined || args.exit === undefined) {
      throw new PqpskError('INVALID_INPUT', 'multihop: expected both --entry and --exit');
    }
    parseService('--entry-service', args['entry-service']);
    parseService('--exit-service', args['exit-service']);
    return [
      { role: 'entry', iface: args.entry, peer: args['entry-peer'] ?? null, service: args['entry-service'] },
      { role: 'exit', iface: args.exit, peer: args['exit-peer'] ?? null, service: args['exit-service'] },
    ];
  }
  if (args.interface === undefined) throw new PqpskError('INVALID_INPUT', 'expected --interface (or --entry and --exit)');
  parseService('--config-service', args['config-service']);
  return [{ role: 'single', iface: args.interface, peer: args.peer ?? null, service: args['config-service'] }];
}

/** The `--json` object: per hop what can be shown (never a secret). */
export function reportJson(report: NegotiationReport): object {
  return {
    ok: true,
    attempts: report.attempts,
    totalMs: report.totalMs,
    hops: report.hops.map((h) => ({
      role: h.role,
      interface: h.interface,
      peer: h.peer,
      configService: h.service,
      parentPublicKey: h.parentPublicKey,
      ephemeralPublicKey: h.ephemeralPublicKey,
      pskFingerprint: h.pskFingerprint,
      algorithms: h.algorithms,
      timings: h.timings,
    })),
  };
}

/** One human line per hop. */
export function hopLine(h: HopReport): string {
  const t = h.timings;
  return (
    `${h.interface}${h.role === 'single' ? '' : ` (${h.role})`}: switched to ephemeral key ${h.ephemeralPublicKey}, ` +
    `PSK fingerprint ${h.pskFingerprint} (${h.algorithms.join(' + ')}); ` +
    `keygen ${t.keygenMs} ms, rpc ${t.rpcMs} ms, decaps ${t.decapsMs} ms, switch ${t.switchMs} ms, verify ${t.verifyMs} ms, total ${t.totalMs} ms`
  );
}

/** A progress line for --verbose. */
export function eventLine(e: ClientEvent): string {
  switch (e.kind) {
    case 'attempt':
      return `attempt ${e.attempt} (timeout ${e.timeoutMs} ms)`;
    case 'exchanged':
      return `${e.role} ${e.iface}: negotiated, ephemeral key ${e.ephemeralPublicKey}, PSK fingerprint ${e.pskFingerprint}`;
    case 'switched':
      return `${e.role} ${e.iface}: switched`;
    case 'verified':
      return `${e.role} ${e.iface}: verified`;
    case 'attempt-failed':
      return `attempt ${e.attempt} failed: ${e.message}`;
    case 'rolled-back':
      return `${e.role} ${e.iface}: rolled back${e.working ? ', tunnel works' : `: ${e.message ?? 'tunnel does not work'}`}`;
    case 'mss-clamp':
      return `mss guard for ${e.service}: ${e.applied ? '' : 'not applied: '}${e.message}`;
  }
}

const mssGuard: MssGuard = (service) => clampHostRoute(parseService('config service', service).host);

/** Negotiate as the arguments say, print the outcome, set the exit code. */
export async function run(args: NegotiateArgs): Promise<void> {
  try {
    const hops = hopsFromArgs(args);
    const kems = createClientKems(parseKemList(args.kem), args['hqc-engine']);
    const verifyTimeoutMs = parseDuration('--verify-timeout', args['verify-timeout'], 100);
    const report = await negotiate(
      { hops, maxAttempts: args['max-attempts'] ?? null, timeoutScale: args['timeout-scale'], verifyTimeoutMs },
      {
        wg: new RealWgControl(),
        kems,
        readPresharedKey: (iface, peer) => readPresharedKey(iface, peer),
        ...(args['mss-clamp'] ? { mssGuard } : {}),
        ...(args['hold-after-switch'] > 0 ? { holdAfterSwitchMs: args['hold-after-switch'] } : {}),
        ...(args.verbose ? { onEvent: (e: ClientEvent) => process.stderr.write(`pqpsk: ${eventLine(e)}\n`) } : {}),
      },
    );
    if (args.json) process.stdout.write(`${JSON.stringify(reportJson(report))}\n`);
    else for (const h of report.hops) process.stdout.write(`${hopLine(h)}\n`);
    process.exitCode = EXIT_OK;
  } catch (err) {
    const message = isPqpskError(err) ? err.message : 'unexpected error';
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: false, code: isPqpskError(err) ? err.code : 'INTERNAL', error: message })}\n`);
    process.stderr.write(`pqpsk negotiate: ${message}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
