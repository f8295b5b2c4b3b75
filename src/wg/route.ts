/**
 * The client's MSS guard (issue 5 "The 16 KB answer"): a host route to the config service
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
  readonly table?: string;
  readonly metrics?: readonly Record<string, unknown>[];
}

/** The planned host route, as argv words after `ip route add|del` (pure, tested directly). */
export function hostRouteArgs(ip: string, found: RouteJson, mss: number): string[] {
  if (found.dev === undefined || !/^[A-Za-z0-9_=+.-]{1,15}$/.test(found.dev)) {
    throw new PqpskError('WG_FAILURE', `no usable route to ${ip}`);
  }
  const prefix = ip.includes(':') ? 128 : 32;
  const words = [`${ip}/${prefix}`];
  if (found.gateway !== undefined) words.push('via', found.gateway);
  words.push('dev', found.dev);
  if (found.prefsrc !== undefined) words.push('src', found.prefsrc);
  words.push('advmss', String(mss));
  return words;
}

/** Whether an exact host route is one this guard left behind (e.g. a client killed with -9). */
export function isOurHostRoute(route: RouteJson, mss: number): boolean {
  return (route.metrics ?? []).some((m) => m['advmss'] === mss);
}

export interface HostRouteClamp {
  readonly applied: boolean;
  readonly message: string;
  undo(): Promise<void>;
}

/**
 * Add the clamped host route to `ip` along the path the kernel uses now. An existing host
 * route of someone else's is left alone (applied: false); a leftover of ours is reused
 * and removed at undo. Never throws: a guard that cannot be set only says why.
 */
export async function clampHostRoute(ip: string, mss = CONFIG_SERVICE_MSS): Promise<HostRouteClamp> {
  const none = (message: string): HostRouteClamp => ({ applied: false, message, undo: async () => undefined });
  if (!/^[0-9A-Fa-f:.]+$/.test(ip)) return none(`not an IP address: ${ip.slice(0, 60)}`);
  const prefix = ip.includes(':') ? 128 : 32;
  const family = ip.includes(':') ? '-6' : '-4';
  try {
    const exact = await ipJson([family, 'route', 'show', 'exact', `${ip}/${prefix}`]);
    let args: string[];
    if (exact.length > 0) {
      const route = exact[0]!;
      if (!isOurHostRoute(route, mss)) return none(`a host route to ${ip} already exists; left as it is`);
      args = hostRouteArgs(ip, route, mss);
    } else {
      const got = await ipJson([family, 'route', 'get', ip]);
      args = hostRouteArgs(ip, got[0] ?? {}, mss);
      await ip_([family, 'route', 'add', ...args]);
    }
    const dev = args[args.indexOf('dev') + 1]!;
    return {
      applied: true,
      message: `route ${args.join(' ')}`,
      undo: async () => {
        await ip_([family, 'route', 'del', `${ip}/${prefix}`, 'dev', dev]);
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
