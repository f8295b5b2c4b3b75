/**
 * `pqpsk negotiate`: give an existing WireGuard tunnel (or a multihop pair) a post-quantum
 * PSK from the relay's config service. Prints the result or one line saying why not.
 */
import type { Argv, CommandModule } from 'yargs';
import { PqpskError, isPqpskError } from '../../errors.js';
import { createClientKems, DEFAULT_CLIENT_KEMS, parseKemList } from '../../client/kems.js';
import { spawn } from 'node:child_process';
import { readParentKeys } from '../../client/config-file.js';
import { InterfaceLock } from '../../client/lock.js';
import { negotiate, type MssGuard, type NegotiateDeps } from '../../client/negotiate.js';
import { Watcher } from '../../client/watch.js';
import { checkPolicy, DEFAULT_POLICY } from '../../client/watch-policy.js';
import { interfaceExists, readTransfer } from '../../wg/transfer.js';
import { parseService } from '../../client/probe.js';
import { DEFAULT_HQC_ENGINE, HQC_ENGINES, type HqcEngine } from '../../kem/registry.js';
import type { ClientEvent, HopReport, HopSpec, NegotiationReport } from '../../client/types.js';
import { readPresharedKey } from '../../wg/psk-read.js';
import { RealWgControl } from '../../wg/real.js';
import { clampHostRoute } from '../../wg/route.js';
import { parseDuration } from '../duration.js';
import { EXIT_GAVE_UP, EXIT_OK, EXIT_USAGE, exitCodeFor } from '../exit-codes.js';

/** Mullvad's relays serve the config service here, inside the tunnel. */
export const DEFAULT_SERVICE = '10.64.0.1:1337';
/** The test bed's exit gateway (the exit's tunnel network is 10.65.0.0/24). */
export const DEFAULT_EXIT_SERVICE = '10.65.0.1:1337';
/** One-shot runs start no attempt after this long (8 + 16 + 32 + 48 s of attempts, then a cut one). */
export const DEFAULT_MAX_TIME = '2m';

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
  'allow-other-peers': boolean;
  'max-time': string;
  watch: boolean;
  rotate: string;
  'config-file'?: string;
  background: boolean;
  'background-wait': string;
  tick: string;
  'background-child': boolean;
}

/** The hops the arguments describe (single hop, or entry + exit), checked. */
export function hopsFromArgs(
  args: Pick<NegotiateArgs, 'interface' | 'peer' | 'config-service' | 'entry' | 'exit' | 'entry-peer' | 'exit-peer' | 'entry-service' | 'exit-service'> & { 'allow-other-peers'?: boolean },
): HopSpec[] {
  const others = args['allow-other-peers'] === true ? { allowOtherPeers: true } : {};
  const multihop = args.entry !== undefined || args.exit !== undefined;
  if (multihop) {
    if (args.interface !== undefined) throw new PqpskError('INVALID_INPUT', '--interface: not with --entry/--exit');
    if (args.entry === undefined || args.exit === undefined) {
      throw new PqpskError('INVALID_INPUT', 'multihop: expected both --entry and --exit');
    }
    parseService('--entry-service', args['entry-service']);
    parseService('--exit-service', args['exit-service']);
    return [
      { role: 'entry', iface: args.entry, peer: args['entry-peer'] ?? null, service: args['entry-service'], ...others },
      { role: 'exit', iface: args.exit, peer: args['exit-peer'] ?? null, service: args['exit-service'], ...others },
    ];
  }
  if (args.interface === undefined) throw new PqpskError('INVALID_INPUT', 'expected --interface (or --entry and --exit)');
  parseService('--config-service', args['config-service']);
  return [{ role: 'single', iface: args.interface, peer: args.peer ?? null, service: args['config-service'], ...others }];
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
  Attempts time out after 8, 16, 32, then 48 s each, and a one-shot run stops starting
  attempts after --max-time (2m). Multihop negotiates the exit first (through both
  tunnels), then the entry; a failure rolls both back.

Watching (--watch):
  Stays in the foreground after the first switch. Rotates every --rotate (1h, ±10 %),
  make-before-break from the live ephemeral key; a relay that refuses that gets the
  request for the parent key, or, failing that, a switch back to the parent key first.
  When the relay stops answering the ephemeral key (traffic out, none back, no answer
  to a probe), goes back to the parent key and negotiates again. With the relay down,
  stays on the working parent key and retries with backoff, saying so.
  The parent key comes from --config-file (default /etc/wireguard/<if>.conf when it
  exists; only its PrivateKey line is read, nothing is ever written).
  SIGTERM/SIGINT: exit 0 on the current working key. SIGHUP: rotate now.
  --background: start the watcher detached, return once the first attempt settles (at
  most --background-wait) with exit 0 whatever the relay did: for wg-quick's PostUp.

One manager per interface:
  A run holds a lock on the interface (freed by the kernel when it dies); a second run
  exits 2 naming the holder. \`pqpsk status --interface <if>\` reads a running watcher.

Secrets:
  Private keys and the PSK reach \`wg\` through a private FIFO, never argv or a file.
  Output shows only public keys and PSK fingerprints (first 8 bytes of SHA-256(PSK)).

Exit codes:
  0 switched and verified (--watch: stopped by SIGTERM/SIGINT; --background: watcher
  started); 1 gave up (tunnel left on its parent key and working); 2 usage or local
  set-up error (bad option, no such interface, no \`wg\`, interface managed by another run).`;

/** How long --background waits at most for the first attempt before returning. */
const DEFAULT_BACKGROUND_WAIT = '15s';

/** The yargs module registered in index.ts. */
export const negotiateCommand: CommandModule<object, NegotiateArgs> = {
  command: 'negotiate',
  describe: 'Negotiate a post-quantum PSK for a WireGuard tunnel (single hop or multihop) and switch to it; --watch keeps it rotated and healed',
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
      .option('max-attempts', { type: 'number', describe: 'Give up after this many attempts (default: until --max-time)' })
      .option('max-time', { type: 'string', default: DEFAULT_MAX_TIME, describe: 'One-shot: start no attempt after this long' })
      .option('verify-timeout', { type: 'string', default: '10s', describe: 'How long a switched tunnel has to prove it works' })
      .option('watch', { type: 'boolean', default: false, describe: 'Stay running: rotate, heal, keep the tunnel post-quantum' })
      .option('rotate', { type: 'string', default: '1h', describe: 'With --watch: rotation period (±10 %), or off' })
      .option('config-file', { type: 'string', describe: 'With --watch: wg-quick file holding the parent PrivateKey (default /etc/wireguard/<if>.conf if present)' })
      .option('background', { type: 'boolean', default: false, describe: 'Start the watcher detached; return 0 once the first attempt settles (for PostUp)' })
      .option('background-wait', { type: 'string', default: DEFAULT_BACKGROUND_WAIT, describe: 'With --background: return after this long at most' })
      .option('allow-other-peers', { type: 'boolean', default: false, describe: 'With --peer: switch an interface that has other peers too (their tunnels break)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Print each step on stderr' })
      .option('mss-clamp', { type: 'boolean', default: true, describe: 'Small TCP segments for the config service during negotiation (--no-mss-clamp to disable)' })
      .usage(
        '$0 negotiate --interface <wg-if> [options]\n$0 negotiate --entry <wg-if> --exit <wg-if> [options]\n$0 negotiate --interface <wg-if> --watch [--rotate 1h] [--config-file /etc/wireguard/<wg-if>.conf]\n\n' +
          'As a service beside wg-quick: examples/pqpsk-negotiate@.service. As a wg-quick hook: PostUp = pqpsk negotiate --interface %i --watch --background',
      )
      .epilog(NEGOTIATE_EPILOG)
      .option('timeout-scale', { type: 'number', default: 1, hidden: true })
      .option('hold-after-switch', { type: 'number', default: 0, hidden: true })
      .option('tick', { type: 'string', default: '2s', hidden: true })
      .option('background-child', { type: 'boolean', default: false, hidden: true }) as unknown as Argv<NegotiateArgs>,
  handler: async (args) => {
    let code: number;
    if (args.background) code = await runBackground(args);
    else if (args.watch) code = await runWatch(args);
    else code = await runOnce(args);
    // End here rather than when the event loop drains: after a call into a dead tunnel
    // gives up on its deadline, the gRPC library's TCP connection attempt (a SYN the
    // relay never answers) stays pending until the kernel's SYN retries run out, and kept
    // the process alive for minutes after "gave up".
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(code);
  },
};

/** One-shot `negotiate`: switch once (or give up within --max-time) and say so. */
async function runOnce(args: NegotiateArgs): Promise<number> {
  let lock: InterfaceLock | undefined;
  try {
    const hops = hopsFromArgs(args);
    const kems = createClientKems(parseKemList(args.kem), args['hqc-engine']);
    const verifyTimeoutMs = parseDuration('--verify-timeout', args['verify-timeout'], 100);
    const maxTotalMs = parseDuration('--max-time', args['max-time'], 100);
    lock = await InterfaceLock.acquire(hops.map((h) => h.iface), () => ({ pid: process.pid, mode: 'negotiate' }));
    const report = await negotiate(
      { hops, maxAttempts: args['max-attempts'] ?? null, timeoutScale: args['timeout-scale'], verifyTimeoutMs, maxTotalMs },
      { ...clientDeps(args), kems },
    );
    if (args.json) process.stdout.write(`${JSON.stringify(reportJson(report))}\n`);
    else for (const h of report.hops) process.stdout.write(`${hopLine(h)}\n`);
    return EXIT_OK;
  } catch (err) {
    return failed(args, err);
  } finally {
    lock?.release();
  }
}

/** `negotiate --watch`: the watcher in the foreground until SIGTERM/SIGINT. */
async function runWatch(args: NegotiateArgs): Promise<number> {
  let lock: InterfaceLock | undefined;
  let watcher: Watcher | undefined;
  const say = (line: string): void => void process.stderr.write(`pqpsk: ${line}\n`);
  const report = (message: object): void => {
    if (args['background-child'] && process.send !== undefined) process.send(message);
  };
  try {
    const hops = hopsFromArgs(args);
    const kems = createClientKems(parseKemList(args.kem), args['hqc-engine']);
    const verifyTimeoutMs = parseDuration('--verify-timeout', args['verify-timeout'], 100);
    const rotateMs = args.rotate === 'off' ? null : parseDuration('--rotate', args.rotate, 1000);
    const tickMs = parseDuration('--tick', args.tick, 100);
    const policy = checkPolicy({ ...DEFAULT_POLICY, rotateMs });
    const explicit = new Map<string, string>();
    if (args['config-file'] !== undefined) {
      if (hops.length !== 1) throw new PqpskError('INVALID_INPUT', '--config-file: single hop only (multihop reads /etc/wireguard/<if>.conf)');
      explicit.set(hops[0]!.iface, args['config-file']);
    }
    const ifaces = hops.map((h) => h.iface);
    lock = await InterfaceLock.acquire(ifaces, () => ({ pid: process.pid, mode: 'watch', status: watcher?.status() ?? null }));
    const parentKeys = await readParentKeys(ifaces, explicit);
    watcher = await Watcher.open(
      { hops, policy, timeoutScale: args['timeout-scale'], verifyTimeoutMs, tickMs, probeTimeoutMs: PROBE_TIMEOUT_MS, parentKeys },
      {
        ...clientDeps(args),
        kems,
        traffic: (iface, peer) => readTransfer(iface, peer),
        exists: interfaceExists,
        log: say,
      },
    );
    const w = watcher;
    const stop = (signal: string): void => {
      say(`${signal}: stopping on the current working key`);
      w.stop();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => w.rotateNow());
    void w.firstSettled().then(({ ok, message }) => report({ kind: 'settled', ok, message, pid: process.pid }));
    say(`watching ${ifaces.join(' and ')} (rotation ${rotateMs === null ? 'off' : `every ${args.rotate} ±10 %`}${parentKeys.size > 0 ? ', parent key from the config file' : ''})`);
    await w.run();
    return EXIT_OK;
  } catch (err) {
    report({ kind: 'failed', code: exitCodeFor(err), message: isPqpskError(err) ? err.message : 'unexpected error' });
    return failed(args, err);
  } finally {
    watcher?.close();
    lock?.release();
  }
}

/**
 * `--background`: start this same command with --watch as a detached child, wait until
 * its first attempt settles (or --background-wait passes), say what happened, and exit
 * 0 so a wg-quick PostUp never fails because of the relay. Local errors (bad option, no
 * such interface, another manager) still exit 2.
 */
async function runBackground(args: NegotiateArgs): Promise<number> {
  try {
    hopsFromArgs(args);
    const waitMs = parseDuration('--background-wait', args['background-wait'], 100);
    const argv = process.argv.slice(2).filter((a) => a !== '--background' && !a.startsWith('--background='));
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv, '--watch', '--background-child'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const outcome = await new Promise<{ kind: string; ok?: boolean; code?: number; message?: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'waiting' }), waitMs);
      child.on('message', (m: { kind: string; ok?: boolean; code?: number; message?: string }) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ kind: 'failed', code: code ?? EXIT_GAVE_UP, message: `watcher exited with code ${code ?? 'none'}` });
      });
    });
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
    const pid = child.pid ?? 0;
    switch (outcome.kind) {
      case 'settled':
        process.stdout.write(
          outcome.ok === true
            ? `pqpsk: switched (${outcome.message ?? ''}); watcher running, pid ${pid}\n`
            : `pqpsk: not switched yet (${outcome.message ?? ''}); tunnel on its parent key; watcher running, pid ${pid}, keeps trying\n`,
        );
        return EXIT_OK;
      case 'waiting':
        process.stdout.write(`pqpsk: first attempt still running after ${args['background-wait']}; tunnel on its parent key; watcher running, pid ${pid}\n`);
        return EXIT_OK;
      default: {
        process.stderr.write(`pqpsk negotiate: ${outcome.message ?? 'watcher failed'}\n`);
        // Only our own set-up is worth failing a wg-quick hook over.
        return outcome.code === EXIT_USAGE ? EXIT_USAGE : EXIT_OK;
      }
    }
  } catch (err) {
    return failed(args, err);
  }
}

/** How long a watcher's probe waits for an answer through the tunnel. */
const PROBE_TIMEOUT_MS = 2_000;

function clientDeps(args: NegotiateArgs): Omit<NegotiateDeps, 'kems'> {
  return {
    wg: new RealWgControl(),
    readPresharedKey: (iface, peer) => readPresharedKey(iface, peer),
    ...(args['mss-clamp'] ? { mssGuard } : {}),
    ...(args['hold-after-switch'] > 0 ? { holdAfterSwitchMs: args['hold-after-switch'] } : {}),
    ...(args.verbose ? { onEvent: (e: ClientEvent) => process.stderr.write(`pqpsk: ${eventLine(e)}\n`) } : {}),
  };
}

function failed(args: NegotiateArgs, err: unknown): number {
  const message = isPqpskError(err) ? err.message : 'unexpected error';
  if (args.json) process.stdout.write(`${JSON.stringify({ ok: false, code: isPqpskError(err) ? err.code : 'INTERNAL', error: message })}\n`);
  process.stderr.write(`pqpsk negotiate: ${message}\n`);
  return exitCodeFor(err);
}
