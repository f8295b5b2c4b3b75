/**
 * The only code in pqpsk that spawns `wg`. It runs one command, feeds its secrets through
 * the secret channel (secret-channel.ts), and turns every failure into a WgError
 * (errors.ts) — execa's own error is never thrown, logged or kept as a cause, because its
 * message embeds the child's stdout and stderr.
 */
import { basename } from 'node:path';
import { PqpskError } from '../errors.js';
import { describeCommand, type WgCommand } from './argv.js';
import { classifyFailure, WgError } from './errors.js';
import { encodeKeyBase64 } from './keys.js';
import { inProcessLauncher, type Launcher } from './launcher.js';
import { SecretChannel } from './secret-channel.js';

/** Where and how `wg` runs. */
export interface WgRunnerOptions {
  /** Run `wg` inside this network namespace, through `ip netns exec`. */
  readonly netns?: string;
  /** The `wg` program: a name looked up on PATH (default `wg`) or a path. */
  readonly wgPath?: string;
  /** Kill `wg` after this long (default 10 s); a hung `wg` becomes a TIMEOUT error. */
  readonly timeoutMs?: number;
  /** What starts the process (default: this process spawns it; a relay passes a WgSpawner). */
  readonly launcher?: Launcher;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const PLACEHOLDER_DIR = '/pqpsk-secret-channel';

/**
 * Runs the command `build` returns and resolves to its stdout as bytes (the caller wipes
 * them when they may hold a key). `build` gets the secret-channel directory; it is
 * called once with a placeholder to validate and count secrets before anything is
 * created, then again with the real directory when there are secrets to pass. A command
 * with keys takes `spare`'s channel made ahead when it has FIFOs enough, else makes its own.
 */
export async function runWg(
  build: (secretDir: string) => WgCommand,
  iface: string | null,
  options: WgRunnerOptions = {},
  spare?: SpareChannel,
): Promise<Uint8Array> {
  const probe = build(PLACEHOLDER_DIR);
  // A command without keys leaves the spare to the next one with keys.
  if (probe.secrets.length === 0) return execute(probe, iface, options, null);
  const prepared = spare?.take();
  const ready = prepared !== undefined && prepared.secrets >= probe.secrets.length ? await prepared.channel.catch(() => null) : null;
  if (ready === null) void prepared?.channel.then((c) => c.close(), () => undefined);
  const channel = ready ?? (await SecretChannel.open());
  try {
    const command = build(channel.dir);
    if (ready === null) await channel.makeFifos(command.secrets.map((s) => s.path), options.launcher ?? inProcessLauncher);
    return await execute(command, iface, options, channel);
  } finally {
    await channel.close();
  }
}

/** A secret channel made ahead for one later command with up to `secrets` keys. */
interface PreparedChannel {
  readonly secrets: number;
  readonly channel: Promise<SecretChannel>;
}

/**
 * One secret channel kept made ahead, for a process whose `wg set`s with keys come one
 * after another (the relay, its broker): the next such command takes it (runWg, which
 * makes its own when the kept one is too small), and the owner prepares the next one once
 * that command is done, so a lone registration's `wg set` starts only `wg`.
 */
export class SpareChannel {
  #spare: PreparedChannel | undefined;

  constructor(private readonly options: WgRunnerOptions = {}) {}

  /** Make a channel for up to `secrets` keys now, unless one is kept already. */
  prepare(secrets: number): void {
    if (this.#spare === undefined) this.#spare = prepareChannel(Math.max(1, secrets), this.options);
  }

  /** The kept channel, handed over (runWg closes it after use). */
  take(): PreparedChannel | undefined {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare;
  }

  /** Remove the kept channel's directory (its owner stops). */
  discard(): void {
    void this.take()?.channel.then((c) => c.close(), () => undefined);
  }
}

/**
 * Make a secret channel now, with the FIFOs a command of up to `secrets` keys names
 * (`<dir>/0` …, as argv.ts numbers them), for runWg to use later: making them is a
 * process of its own (`mkfifo`), which can then run while the caller waits on something else.
 */
function prepareChannel(secrets: number, options: WgRunnerOptions = {}): PreparedChannel {
  const channel = (async () => {
    const made = await SecretChannel.open();
    try {
      await made.makeFifos(Array.from({ length: secrets }, (_, i) => `${made.dir}/${i}`), options.launcher ?? inProcessLauncher);
      return made;
    } catch (err) {
      await made.close();
      throw err;
    }
  })();
  channel.catch(() => undefined);
  return { secrets, channel };
}

async function execute(
  command: WgCommand,
  iface: string | null,
  options: WgRunnerOptions,
  channel: SecretChannel | null,
): Promise<Uint8Array> {
  const wg = options.wgPath ?? 'wg';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [file, args, displayPrefix] =
    options.netns === undefined
      ? [wg, [...command.argv], ['wg']]
      : ['ip', ['netns', 'exec', options.netns, wg, ...command.argv], ['ip', 'netns', 'exec', options.netns, 'wg']];
  const shown = describeCommand(command.display, displayPrefix);

  // wg's messages come from strerror(); fix the locale so classifyFailure can read them.
  // WG_HIDE_KEYS: `wg show <iface>` prints keys as `(hidden)` unless the caller's environment says `never`.
  const child = (options.launcher ?? inProcessLauncher).launch(file, args, { timeoutMs, env: { LC_ALL: 'C', WG_HIDE_KEYS: 'always' } });
  let exited = false;
  const exitedPromise = child.done.then(() => {
    exited = true;
  });

  // `wg` opens its key files one after another, in argv order, so the FIFOs are fed in
  // that order: each feeder starts its waiting open only once the one before it was read,
  // so one thread-pool thread at most waits for `wg` at a time.
  const feeds: Promise<'delivered' | 'abandoned'>[] = [];
  let previous: Promise<'delivered' | 'abandoned'> = Promise.resolve('delivered');
  for (const slot of command.secrets) {
    const text = encodeKeyBase64(slot.label, slot.key, true);
    const after = previous;
    const fed = (async (): Promise<'delivered' | 'abandoned'> => {
      try {
        if ((await after.catch(() => 'abandoned' as const)) === 'abandoned') return 'abandoned';
        return await channel!.feed(slot.path, text, () => exited, () => child.kill(), exitedPromise);
      } catch (err) {
        child.kill();
        throw err;
      } finally {
        text.fill(0);
      }
    })();
    feeds.push(fed);
    previous = fed;
  }

  const result = await child.done;
  await exitedPromise;
  const fed = await Promise.allSettled(feeds);
  const stdout = result.stdout;
  const stderrBytes = result.stderr;
  const failed = result.spawnCode !== null || result.timedOut || result.exitCode !== 0;

  const broken = fed.find((f): f is PromiseRejectedResult => f.status === 'rejected');
  if (failed || broken !== undefined) {
    stdout.fill(0);
    const stderr = new TextDecoder().decode(stderrBytes);
    stderrBytes.fill(0);
    if (broken !== undefined) {
      throw broken.reason instanceof PqpskError ? broken.reason : new PqpskError('WG_FAILURE', 'secret channel failed');
    }
    throw classifyFailure({
      iface,
      command: shown,
      program: file === wg && basename(wg) === 'wg' ? 'wg' : basename(file),
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      timeoutMs,
      spawnCode: result.spawnCode,
      stderr,
    });
  }
  stderrBytes.fill(0);
  if (fed.some((f) => f.status === 'fulfilled' && f.value === 'abandoned')) {
    stdout.fill(0);
    throw new WgError('WG_FAILURE', '`wg` exited without reading a key from the secret channel', shown, 0);
  }
  return stdout;
}
