/**
 * The client's MSS guard: a host route to the config service that clamps the TCP segment
 * size both ways, as Mullvad's client does by setting 496 on its socket. `advmss 496`
 * makes our SYN ask the relay for small segments (the ~16 KB answer); `mtu lock 536`
 * (496 + 40 bytes of IPv4 and TCP headers, + 60 for IPv6) caps the segments we send
 * ourselves (the 9 KB request, or 526 KB with a McEliece key), since the kernel sizes them
 * to the route's MTU. Linux only, through `ip route`; undone after the negotiation. This
 * is the one other program src/wg/ spawns; nothing secret is on these command lines, and
 * failures are still wrapped so no output is echoed.
 */
import { inProcessLauncher } from './launcher.js';
import { PqpskError } from '../errors.js';

/** The segment size Mullvad's client uses for its config-service connection. */
export const CONFIG_SERVICE_MSS = 496;

/** What `ip -j route …` prints, as far as we read it. */
export interface RouteJson {
  readonly dst?: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly prefsrc?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly metric?: number;
  readonly table?: string;
  readonly metrics?: readonly Record<string, unknown>[];
}

/** Route metrics `ip route` takes back under the same name (advmss is handled apart). */
const KEPT_METRICS = ['mtu', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'initcwnd', 'initrwnd', 'hoplimit', 'reordering'];
/** Metrics `ip -j` reports in milliseconds but reads back without a unit as something else. */
const MS_METRICS = new Set(['rtt', 'rttvar']);
const WORD = /^[A-Za-z0-9_.:=+-]{1,64}$/;

/**
 * The metrics a route has locked (`mtu lock 1400`), from the text of `ip route show`: the
 * JSON form prints a locked metric as a bare number, so re-stating a route from it alone
 * would drop the lock.
 */
export function lockedMetrics(text: string): ReadonlySet<string> {
  const words = text.split(/\s+/);
  const locked = new Set<string>();
  for (let i = 0; i + 1 < words.length; i++) if (words[i + 1] === 'lock' && KEPT_METRICS.includes(words[i]!)) locked.add(words[i]!);
  return locked;
}

/** Whether a route carries any metric hostRouteArgs re-states (only those can be locked). */
function hasKeptMetric(route: RouteJson): boolean {
  return (route.metrics ?? []).some((entry) => KEPT_METRICS.some((key) => typeof entry[key] === 'number'));
}

/**
 * A host route to `ip` as argv words after `ip route add|change` (pure, tested directly):
 * the path and attributes of `found`, without any advmss. `found` comes from `ip route
 * get` (a new route along the kernel's path) or `ip route show exact` (an existing one,
 * re-stated so `change` keeps everything but the MSS).
 */
export function hostRouteArgs(ip: string, found: RouteJson, locked: ReadonlySet<string> = new Set()): string[] {
  if (found.dev === undefined || !/^[A-Za-z0-9_=+.-]{1,15}$/.test(found.dev)) {
    throw new PqpskError('WG_FAILURE', `no usable route to ${ip}`);
  }
  const words = [`${ip}/${ip.includes(':') ? 128 : 32}`];
  const add = (key: string, value: unknown, unit = ''): void => {
    if (value === undefined) return;
    const text = String(value);
    if (!WORD.test(text)) throw new PqpskError('WG_FAILURE', `route to ${ip}: unexpected ${key}`);
    words.push(key, ...(locked.has(key) ? ['lock'] : []), `${text}${unit}`);
  };
  add('via', found.gateway);
  add('dev', found.dev);
  add('proto', found.protocol);
  add('scope', found.scope);
  add('src', found.prefsrc);
  add('metric', found.metric);
  for (const entry of found.metrics ?? []) {
    for (const key of KEPT_METRICS) if (typeof entry[key] === 'number') add(key, entry[key], MS_METRICS.has(key) ? 'ms' : '');
  }
  return words;
}

/** The clamp's own route attributes: advmss both sides see, and the locked MTU that caps what we send. */
export function clampWords(ip: string, mss: number): string[] {
  const headers = ip.includes(':') ? 60 : 40;
  return ['advmss', String(mss), 'mtu', 'lock', String(mss + headers)];
}

/** `args` without its `mtu [lock] N` (the clamp states its own, locked). */
export function withoutMtu(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === 'mtu' && i > 0) i += args[i + 1] === 'lock' ? 2 : 1;
    else out.push(args[i]!);
  }
  return out;
}

/** The advmss a route carries, if any. */
export function routeAdvmss(route: RouteJson): number | null {
  for (const entry of route.metrics ?? []) if (typeof entry['advmss'] === 'number') return entry['advmss'];
  return null;
}

/** An applied (or skipped) clamp and how to undo it. */
export interface HostRouteClamp {
  readonly applied: boolean;
  readonly message: string;
  undo(): Promise<void>;
}

/** How to route the config service while a hop uses it. */
export interface ServiceRouteOptions {
  /**
   * Send through this interface (a host route `dev <via>`), as multihop needs when every
   * relay answers on the same address; null keeps the kernel's current path.
   */
  readonly via: string | null;
  /** Clamp segments both ways to this MSS; null: no clamp. */
  readonly mss: number | null;
}

/**
 * Route `ip` as `options` say, for as long as a hop uses it. With no host route yet, add
 * one (removed at undo). With one (wg-quick makes a /32 for `AllowedIPs = x/32`), replace
 * it and put it back at undo; a clamp of ours left by a client killed with -9 is taken off
 * then too. Never throws: a route that cannot be set says why.
 */
export async function clampHostRoute(ip: string, options: ServiceRouteOptions = { via: null, mss: CONFIG_SERVICE_MSS }): Promise<HostRouteClamp> {
  const none = (message: string): HostRouteClamp => ({ applied: false, message, undo: async () => undefined });
  if (!/^[0-9A-Fa-f:.]+$/.test(ip)) return none(`not an IP address: ${ip.slice(0, 60)}`);
  if (options.via === null && options.mss === null) return none('nothing to change');
  const family = ip.includes(':') ? '-6' : '-4';
  const prefix = `${ip}/${ip.includes(':') ? 128 : 32}`;
  const extra = options.mss === null ? [] : clampWords(ip, options.mss);
  const forced = (metric: number | undefined): string[] => {
    const via = hostRouteArgs(ip, { dev: options.via ?? '' });
    return metric === undefined ? via : [...via, 'metric', String(metric)];
  };
  try {
    const exact = (await ipJson([family, 'route', 'show', 'exact', prefix]))[0];
    if (exact !== undefined) {
      // The text form only for its locks, and only when there is a metric to lock (wg-quick's routes have none).
      const locked = hasKeptMetric(exact) ? lockedMetrics(await ip_([family, 'route', 'show', 'exact', prefix])) : new Set<string>();
      const args = hostRouteArgs(ip, exact, locked);
      const before = routeAdvmss(exact);
      // advmss equal to ours is a clamp left by a client killed before it could undo: its
      // MTU is ours too, so neither comes back.
      const leftover = before === CONFIG_SERVICE_MSS;
      const restore = leftover ? withoutMtu(args) : before === null ? args : [...args, 'advmss', String(before)];
      const base = options.via === null ? (options.mss === null ? args : withoutMtu(args)) : forced(exact.metric);
      const target = [...base, ...extra];
      await ip_([family, 'route', 'replace', ...target]);
      return {
        applied: true,
        message: `route ${target.join(' ')} (existing route, restored after)`,
        undo: async () => {
          await ip_([family, 'route', 'replace', ...restore]);
        },
      };
    }
    let base: string[];
    if (options.via === null) {
      const got = (await ipJson([family, 'route', 'get', ip]))[0] ?? {};
      base = hostRouteArgs(ip, { ...(got.gateway === undefined ? {} : { gateway: got.gateway }), ...(got.dev === undefined ? {} : { dev: got.dev }), ...(got.prefsrc === undefined ? {} : { prefsrc: got.prefsrc }) });
    } else {
      base = forced(undefined);
    }
    const target = [...base, ...extra];
    await ip_([family, 'route', 'add', ...target]);
    return {
      applied: true,
      message: `route ${target.join(' ')} (added, removed after)`,
      undo: async () => {
        await ip_([family, 'route', 'del', ...base]);
      },
    };
  } catch (err) {
    return none(err instanceof PqpskError ? err.message : 'ip route failed');
  }
}

/**
 * The interface the kernel would send a packet to `ip` out of right now (policy routing
 * included, as for an unmarked socket), or null when it has no route. Throws WG_FAILURE
 * when `ip` cannot be asked.
 */
export async function routeDevice(ip: string): Promise<string | null> {
  if (!/^[0-9A-Fa-f:.]+$/.test(ip)) throw new PqpskError('INVALID_INPUT', `not an IP address: ${ip.slice(0, 60)}`);
  const result = await runIp(['-j', ip.includes(':') ? '-6' : '-4', 'route', 'get', ip]);
  // `ip route get` exits non-zero for an unreachable address: that is "no route", not a fault.
  if (result.failed) return result.exitCode === 2 ? null : fail(`ip route get ${ip}`, result.exitCode);
  try {
    const parsed: unknown = JSON.parse(result.stdout.trim() || '[]');
    const first = Array.isArray(parsed) ? (parsed[0] as RouteJson | undefined) : undefined;
    return typeof first?.dev === 'string' ? first.dev : null;
  } catch {
    throw new PqpskError('WG_FAILURE', `\`ip route get ${ip}\`: unreadable output`);
  }
}

function fail(command: string, exitCode: number | null): never {
  const code = typeof exitCode === 'number' ? `exit code ${exitCode}` : 'did not run';
  throw new PqpskError('WG_FAILURE', `\`${command}\` failed (${code})`);
}

async function ipJson(args: string[]): Promise<RouteJson[]> {
  const out = await ip_(['-j', ...args]);
  try {
    const parsed: unknown = JSON.parse(out === '' ? '[]' : out);
    return Array.isArray(parsed) ? (parsed as RouteJson[]) : [];
  } catch {
    throw new PqpskError('WG_FAILURE', `\`ip ${args.join(' ')}\`: unreadable output`);
  }
}

async function ip_(args: string[]): Promise<string> {
  const result = await runIp(args);
  if (result.failed) fail(`ip ${args.join(' ')}`, result.exitCode);
  return result.stdout.trim();
}

/** One `ip` run: its stdout as text, and whether it failed (did not start, was killed, or exited non-zero). */
async function runIp(args: string[]): Promise<{ failed: boolean; exitCode: number | null; stdout: string }> {
  const r = await inProcessLauncher.launch('ip', args, { timeoutMs: 5_000, env: { LC_ALL: 'C' } }).done;
  const failed = r.spawnCode !== null || r.timedOut || r.exitCode !== 0;
  return { failed, exitCode: r.exitCode, stdout: new TextDecoder().decode(r.stdout) };
}
