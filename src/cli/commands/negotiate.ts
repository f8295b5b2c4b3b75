/**
 * `pqpsk negotiate`: give an existing WireGuard tunnel (or a multihop pair) a post-quantum
 * PSK from the relay's config service. Prints the result or one line saying why not.
 */
import type { Argv, CommandModule } from 'yargs';
import { PqpskError, isPqpskError } from '../../errors.js';
import { createClientKems, DEFAULT_CLIENT_KEMS, parseKemList } from '../../client/kems.js';
import { negotiate, type MssGuard } from '../../client/negotiate.js';
import { parseService } from '../../client/probe.js';
import { DEFAULT_HQC_ENGINE, HQC_ENGINES, type HqcEngine } from '../../kem/registry.js';
import type { ClientEvent, HopReport, HopSpec, NegotiationReport } from '../../client/types.js';
import { readPresharedKey } from '../../wg/psk-read.js';
import { RealWgControl } from '../../wg/real.js';
import { clampHostRoute } from '../../wg/route.js';
import { parseDuration } from '../duration.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';

/** Mullvad's relays serve the config service here, inside the tunnel. */
export const DEFAULT_SERVICE = '10.64.0.1:1337';
/** The test bed's exit gateway (the exit's tunnel network is 10.65.0.0/24). */
export const DEFAULT_EXIT_SERVICE = '10.65.0.1:1337';

interface NegotiateArgs {
  interface?: string;
  peer?: string;
  'config-service': string;
  entry?: string;
  exit?: string;
  'entry-peer'?: string;
  'exit-peer'?: string;
  'entry-service': string;
  'exit-service': string;
  kem: string;
  'hqc-engine': HqcEngine;
  'max-attempts'?: number;
  'verify-timeout': string;
  json: boolean;
  verbose: boolean;
  'mss-clamp': boolean;
  'timeout-scale': number;
  'hold-after-switch': number;
}

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

const NEGOTIATE_EPILOG = `What it does:
  Reads the interface (its key is the parent key the relay knows), generates a fresh
  WireGuard key and fresh ML-KEM-1024 and HQC-256 keys, asks the relay's config service
  through the tunnel, derives the PSK, and switches the interface to the new key and PSK
  in one \`wg set\`. It then proves the tunnel works (a new handshake, then a TCP connect
  to the config service); if not, it rolls back to the parent key and tries again.
  Attempts time out after 8, 16, 32, then 48 s each. Multihop negotiates the exit
  first (through both tunnels), then the entry; a failure rolls both back.

Secrets:
  Private keys and the PSK reach \`wg\` through a private FIFO, never argv or a file.
  Output shows only public keys and PSK fingerprints (first 8 bytes of SHA-256(PSK)).

Exit codes:
  0 switched and verified; 1 gave up (tunnel left on its parent key and working);
  2 usage or local set-up error (bad option, no such interface, no \`wg\`).`;

/** The yargs module registered in index.ts. */
export const negotiateCommand: CommandModule<object, NegotiateArgs> = {
  command: 'negotiate',
  describe: 'Negotiate a post-quantum PSK for a WireGuard tunnel (single hop or multihop) and switch to it',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('interface', { alias: 'i', type: 'string', describe: 'WireGuard interface (single hop)' })
      .option('peer', { type: 'string', describe: "Relay public key (default: the interface's only peer)" })
      .option('config-service', { type: 'string', default: DEFAULT_SERVICE, describe: 'Config service ip:port inside the tunnel' })
      .option('entry', { type: 'string', describe: 'Multihop: the entry (outer) interface' })
      .option('exit', { type: 'string', describe: 'Multihop: the exit (inner) interface' })
      .option('entry-peer', { type: 'string', describe: "Multihop: entry relay public key (default: the only peer)" })
      .option('exit-peer', { type: 'string', describe: "Multihop: exit relay public key (default: the only peer)" })
      .option('entry-service', { type: 'string', default: DEFAULT_SERVICE, describe: "Multihop: entry relay's config service" })
      .option('exit-service', { type: 'string', default: DEFAULT_EXIT_SERVICE, describe: "Multihop: exit relay's config service" })
      .option('kem', { type: 'string', default: DEFAULT_CLIENT_KEMS, describe: 'KEMs to offer, in order' })
      .option('hqc-engine', {
        choices: HQC_ENGINES,
        default: DEFAULT_HQC_ENGINE,
        describe: "HQC-256 build: pqpsk (the project's own, faster) or pqclean (the upstream reference)",
      })
      .option('max-attempts', { type: 'number', describe: 'Give up after this many attempts (default: until success)' })
      .option('verify-timeout', { type: 'string', default: '10s', describe: 'How long a switched tunnel has to prove it works' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Print each step on stderr' })
      .option('mss-clamp', { type: 'boolean', default: true, describe: 'Small TCP segments for the config service during negotiation (--no-mss-clamp to disable)' })
      .usage('$0 negotiate --interface <wg-if> [options]\n$0 negotiate --entry <wg-if> --exit <wg-if> [options]\n\nRun after `wg-quick up`, e.g. as PostUp = pqpsk negotiate --interface %i')
      .epilog(NEGOTIATE_EPILOG)
      .option('timeout-scale', { type: 'number', default: 1, hidden: true })
      .option('hold-after-switch', { type: 'number', default: 0, hidden: true }) as unknown as Argv<NegotiateArgs>,
  handler: async (args) => {
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
  },
};
