/**
 * The broker: the small privileged part of `pqpsk server`. It keeps CAP_NET_ADMIN while
 * the relay that faces the network runs as an unprivileged user, and runs for it only the
 * typed requests of broker-protocol.ts, on its one interface: the secret-free `wg show`
 * reads, `wg set` of removals, PSKs and allowed-ips, and `nft list ruleset`. It builds
 * every command itself from programs found once at start in fixed system directories
 * (never on PATH), with a fixed environment, and feeds each PSK to `wg` through a FIFO it
 * made (secret-channel.ts). A request it does not accept gets a refusal; nothing a
 * request says can end the broker.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { PqpskError, isPqpskError } from '../errors.js';
import { allowedIpsCommand, latestHandshakesCommand, publicKeyCommand, setCommand } from './argv.js';
import { FrameReader, checkRequest, encodeFrame, type BrokerReplyHeader, type BrokerRequest, type ShowField } from './broker-protocol.js';
import { MAX_OUTPUT_BYTES, type Launcher } from './launcher.js';
import { runProgram } from './program.js';
import { runWg, SpareChannel } from './runner.js';
import { transferCommand } from './transfer.js';

/** Where the broker looks for its programs, in this order; PATH is never used. */
export const PROGRAM_DIRS: readonly string[] = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'];

/** The absolute paths of the programs the broker runs; nft is optional (the firewall check then reports it unreadable). */
export interface BrokerPrograms {
  readonly wg: string;
  readonly mkfifo: string;
  readonly nft: string | null;
}

/** The whole environment of every program the broker starts. */
export const BROKER_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', WG_HIDE_KEYS: 'always' });

/** Requests the broker runs at once; more wait, and beyond MAX_QUEUED are refused. */
const MAX_RUNNING = 8;
const MAX_QUEUED = 256;

/**
 * Finds `name` as an executable regular file in `dirs` (first match), or null. Run once
 * at start, as root, so a later change of PATH or of the relay cannot pick another program.
 */
export function findProgram(name: string, dirs: readonly string[] = PROGRAM_DIRS): string | null {
  for (const dir of dirs) {
    const path = `${dir}/${name}`;
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** The broker's programs, or SETUP naming the directories searched when `wg` or `mkfifo` is missing. */
export function resolvePrograms(dirs: readonly string[] = PROGRAM_DIRS): BrokerPrograms {
  const wg = findProgram('wg', dirs);
  if (wg === null) throw new PqpskError('SETUP', `the \`wg\` program was not found in ${dirs.join(', ')} (install wireguard-tools)`);
  const mkfifo = findProgram('mkfifo', dirs);
  if (mkfifo === null) throw new PqpskError('SETUP', `the \`mkfifo\` program was not found in ${dirs.join(', ')}`);
  return { wg, mkfifo, nft: findProgram('nft', dirs) };
}

/**
 * Serves one relay on `channel` until it closes; resolves then. Commands still running
 * when it closes are killed (a `wg set` waiting on a FIFO must not outlive its feeder).
 */
export function serveRelay(channel: Duplex, iface: string, programs: BrokerPrograms, timeoutMs = 10_000): Promise<void> {
  const running = new Set<() => void>();
  const launcher = fixedLauncher(programs, running);
  // FIFOs for the next `wg set` with keys, made while no request waits on them (see SpareChannel).
  const spare = new SpareChannel({ launcher });
  spare.prepare(1);
  const reader = new FrameReader();
  const queue: (() => Promise<void>)[] = [];
  let active = 0;
  let open = true;

  const reply = (header: BrokerReplyHeader, bytes?: Uint8Array): void => {
    if (!open) return;
    const frame = encodeFrame(header, bytes);
    channel.write(frame);
  };
  const refuse = (id: number | null, err: unknown): void => {
    const known = isPqpskError(err);
    reply({ id, ok: false, code: known ? err.code : 'INTERNAL', message: known ? err.message : 'unexpected error in the broker' });
  };
  const next = (): void => {
    while (active < MAX_RUNNING && queue.length > 0) {
      const job = queue.shift()!;
      active++;
      void job().finally(() => {
        active--;
        next();
      });
    }
  };

  channel.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) {
      if (frame === 'oversized') {
        refuse(null, new PqpskError('RESOURCE_EXHAUSTED', 'request too large'));
        continue;
      }
      if (frame === 'malformed') {
        refuse(null, new PqpskError('INVALID_INPUT', 'request: not a frame with a JSON header'));
        continue;
      }
      const id = requestId(frame.header);
      let request: BrokerRequest;
      try {
        request = checkRequest(frame.header, frame.bytes, iface);
      } catch (err) {
        refuse(id, err);
        continue;
      } finally {
        frame.bytes.fill(0);
      }
      if (queue.length >= MAX_QUEUED) {
        wipe(request);
        refuse(request.id, new PqpskError('RESOURCE_EXHAUSTED', 'too many requests waiting'));
        continue;
      }
      queue.push(async () => {
        try {
          const out = await perform(request, iface, programs, launcher, timeoutMs, spare);
          reply({ id: request.id, ok: true, found: out !== null }, out ?? undefined);
          out?.fill(0);
        } catch (err) {
          refuse(request.id, err);
        } finally {
          // Answered first: the next set's FIFOs are made off this one's path.
          if (request.op === 'set' && open) spare.prepare(request.peers.filter((p) => p.presharedKey instanceof Uint8Array).length);
          wipe(request);
        }
      });
      next();
    }
  });
  return new Promise((resolve) => {
    const end = (): void => {
      if (!open) return;
      open = false;
      queue.length = 0;
      spare.discard();
      for (const kill of running) kill();
      resolve();
    };
    channel.on('error', end);
    channel.on('close', end);
    channel.on('end', end);
  });
}

/** Runs one checked request; its output (secret-free), or null for an nft that could not be read. */
async function perform(request: BrokerRequest, iface: string, programs: BrokerPrograms, launcher: Launcher, timeoutMs: number, spare: SpareChannel): Promise<Uint8Array | null> {
  const options = { wgPath: programs.wg, launcher, timeoutMs };
  switch (request.op) {
    case 'show':
      return runWg(() => SHOW_COMMANDS[request.field](iface), iface, options);
    case 'set': {
      const out = await runWg((dir) => setCommand(iface, { peers: request.peers }, dir), iface, options, spare);
      out.fill(0);
      return new Uint8Array(0);
    }
    case 'nft': {
      if (programs.nft === null) return null;
      const r = await launcher.launch(programs.nft, ['list', 'ruleset'], { timeoutMs: 5000, env: {} }).done;
      return r.spawnCode !== null || r.timedOut || r.exitCode !== 0 ? null : r.stdout;
    }
  }
}

const SHOW_COMMANDS: Readonly<Record<ShowField, typeof publicKeyCommand>> = {
  'public-key': publicKeyCommand,
  'allowed-ips': allowedIpsCommand,
  'latest-handshakes': latestHandshakesCommand,
  transfer: transferCommand,
};

/**
 * Starts only the broker's own programs (the runner asks for `mkfifo` by name), with
 * BROKER_ENV and nothing of this process's environment; anything else fails as refused.
 */
function fixedLauncher(programs: BrokerPrograms, running: Set<() => void>): Launcher {
  const allowed = new Map<string, string>([
    [programs.wg, programs.wg],
    ['mkfifo', programs.mkfifo],
    ...(programs.nft === null ? [] : [[programs.nft, programs.nft] as [string, string]]),
  ]);
  return {
    launch(file, args, options) {
      const path = allowed.get(file);
      if (path === undefined) {
        return { done: Promise.resolve({ stdout: new Uint8Array(0), stderr: new Uint8Array(0), exitCode: null, signal: null, timedOut: false, spawnCode: 'EREFUSED' }), kill: () => undefined };
      }
      const launch = runProgram(path, args, { env: BROKER_ENV, timeoutMs: options.timeoutMs, maxBytes: MAX_OUTPUT_BYTES });
      running.add(launch.kill);
      void launch.done.then(() => running.delete(launch.kill));
      return launch;
    },
  };
}


/** The id of a request that may be malformed, for its refusal (null when it has none usable). */
function requestId(header: unknown): number | null {
  const id = typeof header === 'object' && header !== null ? (header as Record<string, unknown>)['id'] : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 1 ? id : null;
}

/** Best effort, as everywhere in JavaScript: the PSK copies this request holds. */
function wipe(request: BrokerRequest): void {
  if (request.op === 'set') for (const p of request.peers) p.presharedKey?.fill(0);
}
