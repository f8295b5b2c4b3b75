/**
 * A test bed: network namespaces, veth underlays and wireguard-go interfaces created for
 * one run, with everything recorded as it is created so teardown removes exactly that
 * and nothing else. Topologies (topologies.ts) are built from these primitives.
 *
 * Facts this relies on (checked by test/e2e/bed.test.ts):
 * - `ip netns exec NS prog` enters NS's network namespace and a private mount namespace
 *   where /sys is remounted, but /var/run (→ /run) and /tmp are the host's; so
 *   wireguard-go's UAPI socket lands in the shared /var/run/wireguard/ and `wg` in any
 *   namespace (or the root one) can reach it by interface name;
 * - `ip netns exec` execs the program, so the pid we get is wireguard-go's own;
 * - wireguard-go removes its socket and TUN device on SIGTERM; after SIGKILL the socket
 *   file stays, so teardown unlinks it.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { PqpskError } from '../errors.js';
import { BedWgControl } from './wg-dump.js';
import { registerBed, unregisterBed } from './cleanup.js';
import { BedProcess, mustRun, run, runIn, runSyncQuiet, type RunOptions, type RunResult, type SpawnOptions } from './exec.js';
import { checkSuffix, namespaceName, newSuffix, uapiSocket } from './names.js';

/** What teardown did and what (if anything) it could not remove. */
export interface TeardownReport {
  readonly durationMs: number;
  /** Names still present after teardown (empty when clean). */
  readonly leftovers: readonly string[];
}

/** Ping options for `Bed.ping`. */
export interface PingOptions {
  readonly count?: number;
  /** Per-reply wait in seconds (ping -W). */
  readonly waitSeconds?: number;
  /** Payload size in bytes (ping -s), e.g. to probe an MTU. */
  readonly size?: number;
  /** Forbid fragmentation (ping -M do), for MTU tests. */
  readonly dontFragment?: boolean;
}

/** The resources of one run, and the ways to act inside its namespaces. */
export class Bed {
  readonly suffix: string;
  private readonly namespaces: string[] = [];
  private readonly veths: string[] = [];
  private readonly wgInterfaces: string[] = [];
  private readonly wireguardGo: BedProcess[] = [];
  private readonly processes: BedProcess[] = [];
  private teardownPromise: Promise<TeardownReport> | null = null;

  constructor(suffix: string = newSuffix()) {
    checkSuffix(suffix);
    this.suffix = suffix;
    registerBed(this);
  }

  /** Creates namespace `pqpsk-<suffix>-<role>` with loopback up; returns its name. */
  async addNamespace(role: string): Promise<string> {
    const ns = namespaceName(this.suffix, role);
    this.assertUp();
    await mustRun(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.ip(ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * A veth pair created directly inside two namespaces (never in the root one), each end
   * addressed and up. `a`/`b` are `[namespace, link name, address/prefix]`.
   */
  async addVeth(a: readonly [string, string, string], b: readonly [string, string, string]): Promise<void> {
    this.assertUp();
    this.veths.push(a[1], b[1]);
    await mustRun(['ip', 'link', 'add', a[1], 'netns', a[0], 'type', 'veth', 'peer', 'name', b[1], 'netns', b[0]]);
    for (const [ns, link, cidr] of [a, b]) {
      await this.ip(ns, 'addr', 'add', cidr, 'dev', link);
      await this.ip(ns, 'link', 'set', link, 'up');
    }
  }

  /** Starts `wireguard-go -f <iface>` inside `ns` and waits for its UAPI socket. */
  async addWireguard(ns: string, iface: string): Promise<void> {
    this.assertUp();
    if (existsSync(uapiSocket(iface))) {
      throw new PqpskError('SETUP', `test bed: ${uapiSocket(iface)} already exists; another wireguard-go uses the name ${iface}`);
    }
    const proc = new BedProcess(['ip', 'netns', 'exec', ns, 'wireguard-go', '-f', iface], {
      env: { LOG_LEVEL: 'error' },
      keepChars: 8192,
    });
    this.wireguardGo.push(proc);
    this.wgInterfaces.push(iface);
    const deadline = Date.now() + 10_000;
    while (!existsSync(uapiSocket(iface))) {
      if (!proc.running) {
        const { stderr } = proc.output();
        throw new PqpskError('SETUP', `test bed: wireguard-go for ${iface} in ${ns} exited early: ${stderr.trim().slice(-300) || '(no message)'}`);
      }
      if (Date.now() > deadline) throw new PqpskError('TIMEOUT', `test bed: wireguard-go did not create ${uapiSocket(iface)} within 10 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Records a WireGuard interface that something else made in one of the bed's namespaces
   * (wg-quick starts its own wireguard-go): teardown removes its UAPI socket if one is left.
   */
  recordWgInterface(iface: string): void {
    this.assertUp();
    this.wgInterfaces.push(iface);
  }

  /** `ip -n <ns> …`, failing with a SETUP error that quotes ip's message. */
  async ip(ns: string, ...args: string[]): Promise<RunResult> {
    return mustRun(['ip', '-n', ns, ...args]);
  }

  /** Sets a link's MTU inside a namespace (e.g. a small inner tunnel MTU for the client tests). */
  async setMtu(ns: string, link: string, mtu: number): Promise<void> {
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) {
      throw new PqpskError('INVALID_INPUT', 'mtu: expected an integer 576..65535');
    }
    await this.ip(ns, 'link', 'set', 'dev', link, 'mtu', String(mtu));
  }

  /**
   * net.ipv4.ip_forward=1 inside `ns` only. Written through /proc/sys by a process in the
   * namespace (`tee`, from coreutils, so procps' sysctl is not required).
   */
  async enableIpv4Forwarding(ns: string): Promise<void> {
    const r = await this.runIn(ns, ['tee', '/proc/sys/net/ipv4/ip_forward'], { input: '1\n' });
    if (r.exitCode !== 0) {
      throw new PqpskError('SETUP', `test bed: could not enable IPv4 forwarding in ${ns}: ${r.stderr.trim() || '(no message)'}`);
    }
  }

  /** A WgControl acting inside `ns` (real `wg`, via `ip netns exec`). */
  wg(ns: string): BedWgControl {
    return new BedWgControl({ netns: ns });
  }

  /** Runs a command inside `ns` and returns its result (non-zero exits are returned, not thrown). */
  async runIn(ns: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.assertUp();
    return runIn(ns, argv, options);
  }

  /** Starts a long-running process inside `ns`; teardown stops it if the caller has not. */
  spawnIn(ns: string, argv: readonly string[], options: SpawnOptions = {}): BedProcess {
    this.assertUp();
    const proc = new BedProcess(['ip', 'netns', 'exec', ns, ...argv], options);
    this.processes.push(proc);
    return proc;
  }

  /** `ping` from inside `ns` (the only place bed traffic may start). */
  async ping(ns: string, address: string, options: PingOptions = {}): Promise<RunResult> {
    const argv = ['ping', '-n', '-q', '-c', String(options.count ?? 3), '-i', '0.2', '-W', String(options.waitSeconds ?? 2)];
    if (options.size !== undefined) argv.push('-s', String(options.size));
    if (options.dontFragment === true) argv.push('-M', 'do');
    argv.push(address);
    return this.runIn(ns, argv, { timeoutMs: 60_000 });
  }

  /** Names this bed created, for leftover checks. */
  resources(): { namespaces: readonly string[]; links: readonly string[]; sockets: readonly string[]; pids: readonly number[] } {
    return {
      pids: [...this.wireguardGo, ...this.processes].map((p) => p.pid).filter((pid) => pid > 0),
      namespaces: [...this.namespaces],
      links: [...this.veths, ...this.wgInterfaces],
      sockets: this.wgInterfaces.map(uapiSocket),
    };
  }

  /**
   * Stops every process the bed started (by pid: SIGTERM, then SIGKILL), removes leftover
   * UAPI sockets, deletes the namespaces (which destroys their veths and TUN devices) and
   * any veth that ended up in the root namespace. Idempotent; concurrent calls share one run.
   */
  teardown(): Promise<TeardownReport> {
    this.teardownPromise ??= this.doTeardown();
    return this.teardownPromise;
  }

  /** Exit-time teardown: SIGKILL, unlink, delete, synchronously and quietly. */
  teardownSync(): void {
    if (this.teardownPromise !== null) return;
    for (const p of [...this.processes, ...this.wireguardGo]) p.killNow();
    for (const s of this.resources().sockets) {
      try {
        unlinkSync(s);
      } catch {
        // gone already
      }
    }
    for (const ns of this.namespaces) runSyncQuiet(['ip', 'netns', 'del', ns]);
    for (const link of this.veths) runSyncQuiet(['ip', 'link', 'del', link]);
    unregisterBed(this);
  }

  private async doTeardown(): Promise<TeardownReport> {
    const started = Date.now();
    try {
      await Promise.all(this.processes.map((p) => p.stop('SIGTERM', 3000)));
      await Promise.all(this.wireguardGo.map((p) => p.stop('SIGTERM', 2000)));
      for (const s of this.resources().sockets) await unlink(s).catch(() => undefined);
      for (const ns of this.namespaces) {
        const r = await run(['ip', 'netns', 'del', ns]);
        if (r.exitCode !== 0 && !/No such file|not found/i.test(r.stderr)) {
          await new Promise((res) => setTimeout(res, 100));
          await run(['ip', 'netns', 'del', ns]);
        }
      }
      for (const link of this.veths) {
        if ((await run(['ip', 'link', 'show', 'dev', link])).exitCode === 0) await run(['ip', 'link', 'del', 'dev', link]);
      }
      return { durationMs: Date.now() - started, leftovers: await this.leftovers() };
    } finally {
      unregisterBed(this);
    }
  }

  /** Which of this bed's names still exist (namespaces, root-namespace links, sockets). */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    const list = (await run(['ip', 'netns', 'list'])).stdout;
    const present = new Set(list.split('\n').map((l) => l.split(' ')[0]));
    for (const ns of this.namespaces) if (present.has(ns)) left.push(ns);
    for (const link of [...this.veths, ...this.wgInterfaces]) {
      if ((await run(['ip', 'link', 'show', 'dev', link])).exitCode === 0) left.push(link);
    }
    for (const s of this.resources().sockets) if (existsSync(s)) left.push(s);
    return left;
  }

  private assertUp(): void {
    if (this.teardownPromise !== null) throw new PqpskError('INTERNAL', 'test bed: used after teardown');
  }
}
