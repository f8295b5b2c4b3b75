/**
 * The benchmark's `wg` stand-in, server side (wg-standin.ts starts it and asks it for
 * counts): one WireGuard interface held in memory by this process for the life of a relay, and a thin `wg` executable the relay runs as it would run the
 * real one. A real `wg` is a small C program that asks the kernel; a stand-in that started
 * Node and parsed a 20 000-peer state file on every call cost ~150 ms a call, and the
 * relay's figures measured that instead of the relay. Here each call costs a bash start
 * and a loopback round trip, and the text the relay spawns for and parses is still
 * exactly what `wg show` prints (standin-interface.ts).
 *
 * What runs where: the relay host (relay-host.ts) forks this file, so the interface's
 * memory and CPU are neither the relay's nor the benchmark's, as WireGuard's state lives in the kernel in
 * production. The executable is a bash script written into this process's private
 * temporary directory: it connects to 127.0.0.1 (bash's /dev/tcp), sends its argv, and
 * relays the answer — stdout and the exit code — as `wg` would print them.
 *
 * Key paths: for `wg set … preshared-key P` / `private-key P` a worker thread of this
 * process (wg-standin-reader.ts) opens P and reads it to EOF with blocking calls, in argv
 * order, as `wg` does (the relay's FIFO feeder waits for a reader and feeds its FIFOs in
 * that order). It keeps no key it read, only whether a PSK
 * is set, and prints none: the forms whose output carries a private key or a PSK (`show
 * <if> dump | preshared-keys | private-key`, `showconf`) are refused with a non-zero exit
 * and counted, and the benchmark reports the count, which must stay 0.
 *
 * Protocol on the socket (127.0.0.1 only): the client sends `<argc>\n` then each argument
 * NUL-terminated; the server answers `<exit code>\n` then stdout (exit 0) or the message
 * for stderr (otherwise), and closes.
 */
import { chmodSync, closeSync, constants, lstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SECRET_SHOW_FORMS, StandinInterface, type StandinRecord } from '../../test/fixtures/standin-interface.js';
import type { StandinCounts, StandinReply, StandinRequest } from './wg-standin.js';
import type { ReadReply, ReadRequest } from './wg-standin-reader.js';

/** Longest argv accepted from a client: a relay's multi-peer `wg set` stays far below. */
const MAX_REQUEST_BYTES = 8 * 1048576;

/** Where the value of a `set` word is a key path to read. */
const KEY_PATH_WORDS: ReadonlySet<string> = new Set(['private-key', 'preshared-key']);

/** Shown for a PSK this stand-in knows is set, in place of its value (which it never keeps). */
const SET_MARK = '(set)';

/** The thin `wg`: argv to the server, its answer to stdout or stderr, its exit code. */
function clientScript(port: number): string {
  return [
    '#!/bin/bash',
    '# `wg` for the benchmark: hands argv to the stand-in server on loopback and relays its answer.',
    `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1`,
    `printf '%d\\n' "$#" >&3`,
    `[ "$#" -eq 0 ] || printf '%s\\0' "$@" >&3`,
    'IFS= read -r code <&3 || exit 1',
    '[ "$code" = 0 ] && exec cat <&3',
    'cat <&3 >&2',
    'exit "$code"',
    '',
  ].join('\n');
}

/** The key reader, compiled beside this file. */
const READER = new URL('./wg-standin-reader.js', import.meta.url);

/**
 * Reader threads, one per `set` being read (the relay runs one at a time, so one thread
 * in practice), reused once their set is read. A thread whose client went away mid-read
 * may wait in open() for a writer that never comes: it is ended and woken (wakeReader),
 * not reused.
 */
class KeyReaders {
  readonly #idle: Worker[] = [];
  #nextId = 0;

  /** Whether each of `paths` held a key, read in order by one thread. */
  read(paths: readonly string[], signal: AbortSignal): Promise<boolean[]> {
    if (signal.aborted) return Promise.reject(new Error('the client went away'));
    const worker = this.#idle.pop() ?? new Worker(READER);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (reply: ReadReply): void => {
        if (reply.id !== id) return;
        finish();
        this.#idle.push(worker);
        if ('error' in reply) reject(new Error(reply.error));
        else resolve([...reply.set]);
      };
      const onError = (err: Error): void => {
        finish();
        reject(err);
      };
      const onAbort = (): void => {
        finish();
        void worker.terminate();
        wakeReader(paths);
        reject(new Error('the client went away'));
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ id, paths } satisfies ReadRequest);
    });
  }
}

/**
 * Hands EOF to a reader waiting in open() on one of these FIFOs for a writer that will not
 * come (a writer that opens and closes at once), so its thread can end. FIFOs only: a key
 * in a regular file is never opened for writing.
 */
function wakeReader(paths: readonly string[]): void {
  for (const path of paths) {
    try {
      if (lstatSync(path).isFIFO()) closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader waits on this one (ENXIO), or it is gone.
    }
  }
}

/** A served interface, its listening socket and its client executable. */
class StandinServer {
  readonly #calls: Record<string, number> = {};
  readonly #readers = new KeyReaders();
  #refusedSecret = 0;
  #unsupported = 0;

  private constructor(
    readonly iface: string,
    readonly wg: StandinInterface,
    readonly server: Server,
    readonly dir: string,
    readonly wgPath: string,
  ) {}

  static async start(iface: string, record: StandinRecord): Promise<StandinServer> {
    const dir = mkdtempSync(join(tmpdir(), 'pqpsk-bench-wg-'));
    // Others may run the client (an unprivileged relay); only its owner may change it.
    chmodSync(dir, 0o755);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const wgPath = join(dir, 'wg');
    writeFileSync(wgPath, clientScript(port), { mode: 0o755 });
    const self = new StandinServer(iface, new StandinInterface(record), server, dir, wgPath);
    server.on('connection', (socket) => self.#accept(socket));
    return self;
  }

  counts(): StandinCounts {
    const cpu = process.cpuUsage();
    return { calls: { ...this.#calls }, refusedSecret: this.#refusedSecret, unsupported: this.#unsupported, cpuMs: (cpu.user + cpu.system) / 1000, peers: this.wg.size };
  }

  /** Reads one request (`<argc>\n` then NUL-terminated arguments), answers it, closes. */
  #accept(socket: Socket): void {
    let buffered = Buffer.alloc(0);
    let done = false;
    const gone = new AbortController();
    socket.on('error', () => undefined);
    socket.once('close', () => gone.abort());
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_REQUEST_BYTES) {
        done = true;
        socket.destroy();
        return;
      }
      const argv = parseRequest(buffered);
      if (argv === null) return;
      done = true;
      void this.#answer(argv, gone.signal).then(
        ({ code, text }) => socket.end(`${code}\n${text}`),
        () => socket.end('1\nwg stand-in: internal error\n'),
      );
    });
  }

  async #answer(argv: readonly string[], gone: AbortSignal): Promise<{ code: number; text: string }> {
    const [verb, iface, what] = argv;
    if (verb === 'showconf' || (verb === 'show' && what !== undefined && SECRET_SHOW_FORMS.has(what))) {
      this.#refusedSecret++;
      return { code: 3, text: `wg stand-in: refused \`wg ${argv.join(' ')}\`: its output carries a secret\n` };
    }
    if ((verb !== 'show' && verb !== 'set') || iface !== this.iface) {
      this.#unsupported++;
      return { code: 1, text: 'Unable to access interface: No such device\n' };
    }
    const form = verb === 'show' ? `show ${what ?? ''}`.trim() : 'set';
    if (verb === 'show') {
      if (argv.length > 3) return this.#unknown(argv);
      // The form for people prints keys as `(hidden)` here whatever WG_HIDE_KEYS says:
      // this process keeps no key to print.
      const text = this.wg.show(iface, what, true);
      if (text === null) return this.#unknown(argv);
      this.#count(form);
      return { code: 0, text };
    }
    // Read every key path first, in argv order and each to EOF, as `wg` does; the change
    // is applied only once all were read (a `wg` that fails to read changes nothing).
    const words = argv.slice(2);
    const paths: string[] = [];
    for (let i = 0; i < words.length - 1; i++) if (KEY_PATH_WORDS.has(words[i]!)) paths.push(words[++i]!);
    const held = paths.length === 0 ? [] : await this.#readers.read(paths, gone);
    const read = new Map(paths.map((path, i) => [path, held[i] === true ? SET_MARK : '']));
    this.wg.set(words, (path) => read.get(path) ?? '');
    this.#count(form);
    return { code: 0, text: '' };
  }

  #unknown(argv: readonly string[]): { code: number; text: string } {
    this.#unsupported++;
    return { code: 1, text: `wg stand-in: unsupported \`wg ${argv.join(' ')}\`\n` };
  }

  #count(form: string): void {
    this.#calls[form] = (this.#calls[form] ?? 0) + 1;
  }
}

/** The arguments of a complete request, or null while more bytes are due. */
export function parseRequest(bytes: Buffer): string[] | null {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return null;
  const argc = Number(bytes.toString('latin1', 0, newline));
  if (!Number.isInteger(argc) || argc < 0) return [];
  const argv: string[] = [];
  let start = newline + 1;
  while (argv.length < argc) {
    const end = bytes.indexOf(0, start);
    if (end < 0) return null;
    argv.push(bytes.toString('utf8', start, end));
    start = end + 1;
  }
  return argv;
}

function send(reply: StandinReply): void {
  process.send?.(reply);
}

function serve(): void {
  let standin: StandinServer | undefined;
  process.on('message', (message: StandinRequest) => {
    void (async () => {
      if (message.type === 'start') {
        const peers = message.peers.map((p) => ({ publicKey: p.publicKey, psk: p.psk ? SET_MARK : null, allowedIps: p.allowedIps, latestHandshake: p.latestHandshake }));
        standin = await StandinServer.start(message.iface, { publicKey: message.publicKey, privateKey: null, peers });
        send({ type: 'ready', wgPath: standin.wgPath, pid: process.pid });
      } else if (standin !== undefined) {
        send({ type: 'counts', counts: standin.counts() });
      }
    })();
  });
  // The relay host going away takes the interface with it.
  process.on('disconnect', () => process.exit(0));
}

if (process.send !== undefined) serve();
