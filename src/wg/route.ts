/**
 * The client's MSS guard: a host route to the config service
 * with `advmss 496`, so the TCP connection that carries the ~16 KB answer asks the relay
 * for small segments (Mullvad clamps to 496). Linux only, through `ip route`; undone after
 * the negotiation. This is the one other program src/wg/ spawns; nothing secret is on
 * these command lines, and failures are still wrapped so no output is echoed.
 */
import { execa } from 'execa';
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
const WORD = /^[A-Za-z0-9_.:=+-]{1,64}$/;

/**
 * A host route to `ip` as argv words after `ip route add|change` (pure, tested directly):
 * the path and attributes of `found`, without any advmss. `found` comes from `ip route
 * get` (a new route along the kernel's path) or `ip route show exact` (an existing one,
 * re-stated so `change` keeps everything but the MSS).
 */
export function hostRouteArgs(ip: string, found: RouteJson): string[] {
  if (found.dev === undefined || !/^[A-Za-z0-9_=+.-]{1,15}$/.test(found.dev)) {
    throw new PqpskError('WG_FAILURE', `no usable route to ${ip}`);
  }
  const words = [`${ip}/${ip.includes(':') ? 128 : 32}`];
  const add = (key: string, value: unknown): void => {
    if (value === undefined) return;
    const text = String(value);
    if (!WORD.test(text)) throw new PqpskError('WG_FAILURE', `route to ${ip}: unexpected ${key}`);
    words.push(key, text);
  };
  add('via', found.gateway);
  add('dev', found.dev);
  add('proto', found.protocol);
  add('scope', found.scope);
  add('src', found.prefsrc);
  add('metric', found.metric);
  for (const entry of found.metrics ?? []) {
    for (const key of KEPT_METRICS) if (typeof entry[key] === 'number') add(key, entry[key]);
  }
  return words;
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

/**
 * Clamp the MSS toward `ip`. With no host route yet, add one along the kernel's current
 * path (removed at undo). With one (wg-quick makes a /32 for `AllowedIPs = x/32`), change
 * it to carry advmss and change it back at undo; an advmss of ours left by a client
 * killed with -9 is taken off then too. Never throws: a guard that cannot be set says why.
 */
export async function clampHostRoute(ip: string, mss = CONFIG_SERVICE_MSS): Promise<HostRouteClamp> {
  const none = (message: string): HostRouteClamp => ({ applied: false, message, undo: async () => undefined });
  if (!/^[0-9A-Fa-f:.]+$/.test(ip)) return none(`not an IP address: ${ip.slice(0, 60)}`);
  const family = ip.includes(':') ? '-6' : '-4';
  try {
    const exact = (await ipJson([family, 'route', 'show', 'exact', `${ip}/${ip.includes(':') ? 128 : 32}`]))[0];
    if (exact !== undefined) {
      const args = hostRouteArgs(ip, exact);
      const before = routeAdvmss(exact);
      const restore = before === null || before === mss ? args : [...args, 'advmss', String(before)];
      await ip_([family, 'route', 'change', ...args, 'advmss', String(mss)]);
      return {
        applied: true,
        message: `route ${args.join(' ')} advmss ${mss} (existing route, restored after)`,
        undo: async () => {
          await ip_([family, 'route', 'change', ...restore]);
        },
      };
    }
    const got = (await ipJson([family, 'route', 'get', ip]))[0] ?? {};
    const args = hostRouteArgs(ip, { ...(got.gateway === undefined ? {} : { gateway: got.gateway }), ...(got.dev === undefined ? {} : { dev: got.dev }), ...(got.prefsrc === undefined ? {} : { prefsrc: got.prefsrc }) });
    await ip_([family, 'route', 'add', ...args, 'advmss', String(mss)]);
    return {
      applied: true,
      message: `route ${args.join(' ')} advmss ${mss} (added, removed after)`,
      undo: async () => {
        await ip_([family, 'route', 'del', ...args]);
      },
    };
  } catch (err) {
    return none(err instanceof PqpskError ? err.message : 'ip route failed');
  }
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
  const result = await execa('ip', args, { reject: false, timeout: 5_000, env: { LC_ALL: 'C' }, stdin: 'ignore' });
  if (result.failed) {
    const code = typeof result.exitCode === 'number' ? `exit code ${result.exitCode}` : 'did not run';
    throw new PqpskError('WG_FAILURE', `\`ip ${args.join(' ')}\` failed (${code})`);
  }
  return String(result.stdout).trim();
}
