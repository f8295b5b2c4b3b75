/**
 * Where a hop's request goes: the config service must be reached through the hop's own
 * interface, with small TCP segments (the MSS guard); for a multihop each hop's service
 * is routed through its own interface in turn, since their addresses may be the same.
 */
import { PqpskError } from '../errors.js';
import type { HopState } from './hop-state.js';
import type { HopSpec } from './types.js';
import type { NegotiationCore } from './negotiation-deps.js';

/** A temporary change that makes the config-service TCP connection use small segments. */
export interface MssClamp {
  readonly applied: boolean;
  /** What was done or why nothing was (shown with --verbose). */
  readonly message: string;
  undo(): Promise<void>;
}

/** Applies the MSS guard for one config service (src/wg/route.ts on Linux). */
export type MssGuard = (service: string, via: string | null) => Promise<MssClamp>;

/** The interface the kernel would send to `service`'s address out of, or null (src/wg/route.ts). */
export type RouteDevice = (service: string) => Promise<string | null>;

/**
 * The MSS guard for a single hop's config service, along the kernel's path, for the whole
 * run; the caller undoes it. Hops of a multihop take turns instead (`throughHop`).
 */
export async function mssGuardForRun(core: NegotiationCore, hops: readonly HopState[], guard: MssGuard): Promise<MssClamp[]> {
  if (hops.length !== 1) return [];
  const hop = hops[0]!;
  const clamp = await guard(hop.spec.service, null);
  core.emit({ kind: 'mss-clamp', service: hop.spec.service, applied: clamp.applied, message: clamp.message });
  return [clamp];
}

/**
 * Run `step` with `hop`'s config service routed through `hop`'s own interface when there
 * are several hops (their services may share one address: Mullvad's relays all answer on
 * 10.64.0.1), and the route put back after. One hop keeps the route set for the run.
 */
export async function throughHop<T>(core: NegotiationCore, hop: HopState, step: () => Promise<T>): Promise<T> {
  const guard = core.deps.mssGuard;
  if (!core.multihop || guard === undefined) return step();
  const route = await guard(hop.spec.service, hop.spec.iface);
  core.emit({ kind: 'mss-clamp', service: hop.spec.service, applied: route.applied, message: route.message });
  try {
    return await step();
  } finally {
    await route.undo().catch(() => undefined);
  }
}

/** Refuse to send a request that would not go into the hop's tunnel. */
export async function checkRoute(core: NegotiationCore, hop: HopState): Promise<void> {
  const routeDevice = core.deps.routeDevice;
  if (routeDevice === undefined) return;
  const dev = await routeDevice(hop.spec.service);
  if (dev !== hop.spec.iface) throw outsideTunnel(hop.spec, dev);
}

/** Refused: the request would not go into the hop's tunnel (`dev`: where it would go). */
export function outsideTunnel(spec: HopSpec, dev: string | null): PqpskError {
  return new PqpskError(
    'OUTSIDE_TUNNEL',
    `config service ${spec.service} is routed ${dev === null ? 'nowhere' : `through ${dev}`}, not through ${spec.iface}: refusing to send the request outside the tunnel`,
  );
}
