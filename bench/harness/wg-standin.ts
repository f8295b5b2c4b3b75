/**
 * The benchmark's `wg` stand-in, as its user starts it: a server process
 * (wg-standin-server.ts) holding one interface in memory, and the path of a thin `wg`
 * executable to hand to the production WgControl, which then spawns it and parses what it
 * prints as it would with the real `wg`. `counts()` says which forms were run, and how
 * many that print a secret were refused.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { PqpskError } from '../../src/errors.js';

/** A peer the interface starts with; `psk` says whether one is set (its value never crosses here). */
export interface StandinSeedPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly latestHandshake: number;
  readonly psk: boolean;
}

/** What relay-host.ts asks for. */
export type StandinRequest =
  | { readonly type: 'start'; readonly iface: string; readonly publicKey: string; readonly peers: readonly StandinSeedPeer[] }
  | { readonly type: 'counts' };

/** How many calls of each kind the stand-in served, and what it refused. */
export interface StandinCounts {
  /** `show <what>` (`show` for the form for people) and `set`, counted by form. */
  readonly calls: Readonly<Record<string, number>>;
  /** Calls of a form that prints a secret (must be 0 for a relay). */
  readonly refusedSecret: number;
  /** Calls of a form this stand-in does not know, or for another interface. */
  readonly unsupported: number;
  /** CPU of this process since it started, ms. */
  readonly cpuMs: number;
  readonly peers: number;
}

/** What the stand-in answers. */
export type StandinReply =
  | { readonly type: 'ready'; readonly wgPath: string; readonly pid: number }
  | { readonly type: 'counts'; readonly counts: StandinCounts };

/** The server, compiled beside this file. */
const SERVER = new URL('./wg-standin-server.js', import.meta.url);

/** The stand-in server child, its `wg` executable, and its request/answer channel. */
export class WgStandin {
  #exited = false;

  private constructor(
    readonly child: ChildProcess,
    /** The `wg` to run (a path for WgRunnerOptions.wgPath). */
    readonly wgPath: string,
  ) {
    child.once('exit', () => {
      this.#exited = true;
    });
  }

  /**
   * Forks the server with the interface's peers and waits until its `wg` is ready. A
   * child of the caller, so its memory and CPU are not the caller's; it exits with it.
   */
  static async start(iface: string, publicKey: string, peers: readonly StandinSeedPeer[]): Promise<WgStandin> {
    const child = fork(SERVER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    const ready = await ask(child, { type: 'start', iface, publicKey, peers }, 'ready');
    return new WgStandin(child, ready.wgPath);
  }

  async counts(): Promise<StandinCounts> {
    return (await ask(this.child, { type: 'counts' }, 'counts')).counts;
  }

  /** Closes the channel, which ends the server; SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** One request and the answer of type `expect`. */
function ask<T extends StandinReply['type']>(child: ChildProcess, request: StandinRequest, expect: T): Promise<Extract<StandinReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: StandinReply): void => {
      if (reply.type !== expect) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(reply as Extract<StandinReply, { type: T }>);
    };
    const onExit = (): void => {
      child.off('message', onMessage);
      reject(new PqpskError('INTERNAL', 'the wg stand-in exited'));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(request);
  });
}

/** One line for the report: what the relay ran on the stand-in, and what it refused. */
export function describeStandin(c: StandinCounts): string {
  const calls = Object.entries(c.calls)
    .sort((a, b) => b[1] - a[1])
    .map(([form, n]) => `${form} ${n}`)
    .join(', ');
  return `wg stand-in (own process, ${Math.round(c.cpuMs)} ms CPU): ${calls || 'no call'}; refused as printing a secret: ${c.refusedSecret}, unsupported: ${c.unsupported}`;
}
