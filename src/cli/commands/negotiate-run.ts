/**
 * What `pqpsk negotiate` does: give an existing WireGuard tunnel (or a multihop pair) a
 * post-quantum PSK from the relay's config service. Prints the result or one line saying
 * why not. Loaded only when the command runs (see negotiate.ts).
 */
import { isPqpskError, messageOf, PqpskError } from '../../errors.js';
import { createClientKems, parseKemList } from '../../client/kems.js';
import { closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { readParentKeys } from '../../client/config-file.js';
import { InterfaceLock, LEAVING_WAIT_MS, holderIsLeaving, type HolderInfo, type YieldOptions } from '../../client/lock.js';
import { writeKeyNote } from '../../client/key-note.js';
import { negotiate } from '../../client/negotiate.js';
import type { MssGuard, RouteDevice } from '../../client/hop-route.js';
import type { NegotiateDeps } from '../../client/negotiation-deps.js';
import { TunnelWatcher } from '../../client/watch.js';
import { checkPolicy, DEFAULT_POLICY } from '../../client/watch-policy.js';
import { interfaceIndex, readInterfaceCounters, readTransfer } from '../../wg/transfer.js';
import { parseService } from '../../client/probe.js';
import type { ClientEvent, HopSpec, NegotiationReport } from '../../client/types.js';
import { RealWgControl } from '../../wg/real.js';
import { CONFIG_SERVICE_MSS, clampHostRoute, routeDevice } from '../../wg/route.js';
import { parseDuration } from '../duration.js';
import { spawnDetached } from '../detach.js';
import { openLogFile } from '../log-file.js';
import { EXIT_GAVE_UP, EXIT_OK, EXIT_USAGE, exitCodeFor } from '../exit-codes.js';
import { DEFAULT_SERVICE, type NegotiateArgs } from './negotiate.js';
import { attemptFailedLine, eventLine, hopLine, reportJson } from '../negotiate-output.js';

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
    if (args.entry === args.exit) throw new PqpskError('INVALID_INPUT', '--entry and --exit: expected two different interfaces');
    parseService('--entry-service', args['entry-service']);
    parseService('--exit-service', args['exit-service']);
    return [
      { role: 'entry', iface: args.entry, peer: args['entry-peer'] ?? null, service: args['entry-service'], noAnswerAdvice: noAnswerAdvice('--entry-service', args['entry-service']), ...others },
      { role: 'exit', iface: args.exit, peer: args['exit-peer'] ?? null, service: args['exit-service'], noAnswerAdvice: noAnswerAdvice('--exit-service', args['exit-service']), ...others },
    ];
  }
  if (args.interface === undefined) throw new PqpskError('INVALID_INPUT', 'expected --interface (or --entry and --exit)');
  parseService('--config-service', args['config-service']);
  return [{ role: 'single', iface: args.interface, peer: args.peer ?? null, service: args['config-service'], noAnswerAdvice: noAnswerAdvice('--config-service', args['config-service']), ...others }];
}

/**
 * What to check when nothing at all answers at `service`: the default is where Mullvad's
 * relays answer, and a self-hosted relay listens on its own tunnel address instead, which
 * only `option` can name; a service the user named has a tunnel or firewall in the way.
 */
export function noAnswerAdvice(option: string, service: string): string {
  if (service === DEFAULT_SERVICE) return `the default (where Mullvad's relays answer); for your own relay pass ${option} <relay tunnel address>:1337`;
  return `is the tunnel up (a recent handshake in \`wg show\`), and does the relay let TCP port ${parseService(option, service).port} in?`;
}

/** Routes for the config service: the clamp unless --no-mss-clamp; multihop's per-hop route always. */
function mssGuardFor(clamp: boolean): MssGuard {
  return (service, via) => clampHostRoute(parseService('config service', service).host, { via, mss: clamp ? CONFIG_SERVICE_MSS : null });
}

const routeDeviceOf: RouteDevice = (service) => routeDevice(parseService('config service', service).host);

/**
 * Run as the arguments say (one-shot, --watch, or --background), print the outcome, and
 * end the process with the exit code.
 */
export async function run(args: NegotiateArgs): Promise<void> {
  let code: number;
  if (args['log-file'] !== undefined && !args.background && !args['background-child']) {
    code = failed(args, new PqpskError('INVALID_INPUT', '--log-file: only with --background (in the foreground the output is already yours)'));
  } else if (args.background) code = await runBackground(args);
  else if (args.watch) code = await runWatch(args);
  else code = await runOnce(args);
  // End here rather than when the event loop drains: after a call into a dead tunnel
  // gives up on its deadline, the gRPC library's TCP connection attempt (a SYN the
  // relay never answers) stays pending until the kernel's SYN retries run out, and kept
  // the process alive for minutes after "gave up".
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

/** One-shot `negotiate`: switch once (or give up within --max-time) and say so. */
async function runOnce(args: NegotiateArgs): Promise<number> {
  let lock: InterfaceLock | undefined;
  try {
    const hops = hopsFromArgs(args);
    const kems = createClientKems(parseKemList(args.kem), args['hqc-engine']);
    const verifyTimeoutMs = parseDuration('--verify-timeout', args['verify-timeout'], 100);
    const maxTotalMs = parseDuration('--max-time', args['max-time'], 100);
    const maxAttempts = args['max-attempts'] ?? null;
    if (maxAttempts !== null && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new PqpskError('INVALID_INPUT', `--max-attempts: expected a whole number ≥ 1, got ${maxAttempts}`);
    const indexes = interfaceIndexes(hops);
    lock = await InterfaceLock.acquire(hops.map((h) => h.iface), () => ({ pid: process.pid, mode: 'negotiate', interfaces: Object.fromEntries(indexes) }), undefined, yieldToLeaving(indexes));
    const parentKeys = await parentKeysFor(args, hops);
    const report = await negotiate(
      { hops, maxAttempts, timeoutScale: args['timeout-scale'], verifyTimeoutMs, maxTotalMs, parentKeys },
      { ...clientDeps(args, { progress: true }), kems },
    );
    if (args.json) process.stdout.write(`${JSON.stringify(reportJson(report))}\n`);
    else for (const h of report.hops) process.stdout.write(`${hopLine(h)}\n`);
    await noteSwitches(report);
    return EXIT_OK;
  } catch (err) {
    return failed(args, err);
  } finally {
    lock?.release();
  }
}

/**
 * Leaves the switches' public facts for `pqpsk status`, which with no watcher running has
 * no other way to tell pqpsk's PSK from a static one. The switch stands without it: a
 * failure is one line on stderr, and status then says the PSK's origin is unknown.
 */
async function noteSwitches(report: NegotiationReport): Promise<void> {
  const negotiatedAt = Date.now();
  for (const h of report.hops) {
    const hop = { role: h.role, interface: h.interface, service: h.service, publicKey: h.ephemeralPublicKey, parentPublicKey: h.parentPublicKey, pskFingerprint: h.pskFingerprint };
    await writeKeyNote({ hop, peer: h.peer, negotiatedAt }).catch((err: unknown) =>
      process.stderr.write(`pqpsk: ${h.interface}: switched, but pqpsk status will not know it was pqpsk (${isPqpskError(err) ? err.message : ((err as NodeJS.ErrnoException).code ?? 'error')})\n`),
    );
  }
}

/** `negotiate --watch`: the watcher in the foreground until SIGTERM/SIGINT. */
async function runWatch(args: NegotiateArgs): Promise<number> {
  let lock: InterfaceLock | undefined;
  let watcher: TunnelWatcher | undefined;
  // In a log file (--background --log-file) nothing else dates the lines.
  const stamp = args['log-file'] !== undefined && args['background-child'] ? (): string => `${new Date().toISOString()} ` : (): string => '';
  const say = (line: string): void => void process.stderr.write(`${stamp()}pqpsk: ${line}\n`);
  // To the --background parent, if it still listens: it leaves after --background-wait,
  // and a send on the closed channel would end this watcher with an uncaught error.
  const report = (message: object): void => {
    if (args['background-child'] && process.send !== undefined && process.connected) process.send(message, undefined, {}, () => undefined);
  };
  try {
    const hops = hopsFromArgs(args);
    const kems = createClientKems(parseKemList(args.kem), args['hqc-engine']);
    const verifyTimeoutMs = parseDuration('--verify-timeout', args['verify-timeout'], 100);
    const rotateMs = args.rotate === 'off' ? null : parseDuration('--rotate', args.rotate, 1000);
    const tickMs = parseDuration('--tick', args.tick, 100);
    const policy = checkPolicy({ ...DEFAULT_POLICY, rotateMs });
    const ifaces = hops.map((h) => h.iface);
    const indexes = interfaceIndexes(hops);
    const holder = (): HolderInfo => ({ pid: process.pid, mode: 'watch', leaving: watcher?.stopping ?? false, interfaces: Object.fromEntries(indexes), status: watcher?.status() ?? null });
    lock = await InterfaceLock.acquire(ifaces, holder, undefined, yieldToLeaving(indexes));
    const parentKeys = await parentKeysFor(args, hops);
    watcher = await TunnelWatcher.open(
      { hops, policy, timeoutScale: args['timeout-scale'], verifyTimeoutMs, tickMs, probeTimeoutMs: PROBE_TIMEOUT_MS, parentKeys, interfaceIndexes: indexes },
      {
        ...clientDeps(args),
        kems,
        // The interface's own counters cost no process; with other peers on it only wg can tell the relay's apart.
        traffic: async (iface, peer) => (args['allow-other-peers'] ? null : readInterfaceCounters(iface)) ?? readTransfer(iface, peer),
        interfaceIndex,
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
    // Into the log first: once told, the parent exits, and whoever reads the log then
    // must find the line there (stdio on a file is written synchronously).
    const code = failed(args, err, stamp());
    report({ kind: 'failed', code: exitCodeFor(err), message: messageOf(err) });
    return code;
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
    const argv = childArgv(process.argv.slice(2), args['config-file']);
    const log = args['log-file'] === undefined ? 'ignore' : logOrIgnore(args['log-file']);
    let child;
    try {
      child = spawnDetached(process.execPath, [...process.execArgv, process.argv[1]!, ...argv, '--watch', '--background-child'], ['ignore', log, log, 'ipc']);
    } finally {
      // The child holds its own copy of the descriptor from here on.
      if (typeof log === 'number') closeSync(log);
    }
    const outcome = await new Promise<{ kind: string; ok?: boolean; code?: number; message?: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'waiting' }), waitMs);
      child.on('message', (m: { kind: string; ok?: boolean; code?: number; message?: string }) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why = err.code === 'ENOENT' ? 'the `prlimit` program (util-linux) was not found on PATH; it keeps the watcher from dumping core' : `could not start the watcher (${err.code ?? 'unknown error'})`;
        resolve({ kind: 'failed', code: EXIT_USAGE, message: why });
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

/**
 * The watcher's argv: ours without --background, and with --config-file made absolute,
 * since the watcher runs in `/` (see ../detach.ts).
 */
export function childArgv(argv: readonly string[], configFile: string | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--background' || a.startsWith('--background=')) continue;
    if (a === '--config-file' || a === '--configFile') i++;
    else if (!a.startsWith('--config-file=') && !a.startsWith('--configFile=')) out.push(a);
  }
  if (configFile !== undefined) out.push('--config-file', resolve(configFile));
  return out;
}

/** The --log-file descriptor, or (said on stderr) no log: a log is never worth failing PostUp over. */
function logOrIgnore(path: string): number | 'ignore' {
  try {
    return openLogFile(path);
  } catch (err) {
    process.stderr.write(`pqpsk negotiate: ${isPqpskError(err) ? err.message : 'cannot use --log-file'}; the watcher runs without a log\n`);
    return 'ignore';
  }
}

/** The parent keys from --config-file, or from wg-quick's file for each interface that has one. */
async function parentKeysFor(args: NegotiateArgs, hops: readonly HopSpec[]): Promise<Map<string, Uint8Array>> {
  const explicit = new Map<string, string>();
  if (args['config-file'] !== undefined) {
    if (hops.length !== 1) throw new PqpskError('INVALID_INPUT', '--config-file: single hop only (multihop reads /etc/wireguard/<if>.conf)');
    explicit.set(hops[0]!.iface, args['config-file']);
  }
  return readParentKeys(hops.map((h) => h.iface), explicit);
}

/** Each hop's interface index now (0 when not known), for the lock and the watcher. */
function interfaceIndexes(hops: readonly HopSpec[]): Map<string, number> {
  return new Map(hops.map((h) => [h.iface, interfaceIndex(h.iface) ?? 0]));
}

/**
 * Wait (bounded) for a previous manager on its way out: after `wg-quick down && up` the
 * last watcher may still be letting go while the new PostUp starts.
 */
function yieldToLeaving(indexes: ReadonlyMap<string, number>): YieldOptions {
  return { leaving: (holder, iface) => holderIsLeaving(holder, iface, indexes.get(iface) ?? 0), waitMs: LEAVING_WAIT_MS };
}

/** How long a watcher's probe waits for an answer through the tunnel. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * The dependencies every mode shares. `progress`: a one-shot run says on stderr why each
 * attempt failed and when the next begins, --verbose or not (a watcher logs its own).
 */
function clientDeps(args: NegotiateArgs, show: { progress?: boolean } = {}): Omit<NegotiateDeps, 'kems'> {
  const print = (line: string): void => void process.stderr.write(`pqpsk: ${line}\n`);
  const onEvent = args.verbose
    ? (e: ClientEvent): void => print(eventLine(e))
    : show.progress === true
      ? (e: ClientEvent): void => {
          if (e.kind === 'attempt-failed' && e.nextInMs !== null) print(attemptFailedLine(e));
        }
      : undefined;
  return {
    wg: new RealWgControl(),
    mssGuard: mssGuardFor(args['mss-clamp']),
    routeDevice: routeDeviceOf,
    ...(args['hold-after-switch'] > 0 ? { holdAfterSwitchMs: args['hold-after-switch'] } : {}),
    ...(onEvent === undefined ? {} : { onEvent }),
  };
}

/** Say why the run ends (`stamp`: the date that starts every line of a log file) and pick the exit code. */
function failed(args: NegotiateArgs, err: unknown, stamp = ''): number {
  const message = messageOf(err);
  if (args.json) process.stdout.write(`${stamp}${JSON.stringify({ ok: false, code: isPqpskError(err) ? err.code : 'INTERNAL', error: message })}\n`);
  process.stderr.write(`${stamp}pqpsk negotiate: ${message}\n`);
  return exitCodeFor(err);
}
