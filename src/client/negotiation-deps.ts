/**
 * What a negotiation takes from outside (WireGuard, KEMs, the network, time) and the
 * settings that hold for all its attempts: the ports the client's negotiation runs on,
 * so tests and the CLI hand in their own.
 */
import type { Kem } from '../kem/types.js';
import type { WgControl } from '../wg/types.js';
import type { RegisterCall } from './exchange.js';
import type { MssGuard, RouteDevice } from './hop-route.js';
import type { ClientEvent } from './types.js';
import type { Clock, TunnelProbe } from './verify.js';

/** What the negotiation needs from outside: WireGuard, KEMs, the network, time. */
export interface NegotiateDeps {
  readonly wg: WgControl;
  readonly kems: readonly Kem[];
  readonly probe?: TunnelProbe;
  readonly call?: RegisterCall;
  readonly clock?: Clock;
  readonly mssGuard?: MssGuard;
  /**
   * Checked before each request: the config service must be reached through the hop's own
   * interface, or the request would leave the tunnel (a split tunnel, or a LAN that uses
   * the same addresses) and the run stops with SETUP.
   */
  readonly routeDevice?: RouteDevice;
  readonly onEvent?: (event: ClientEvent) => void;
  /**
   * Whether anything answers through the tunnel toward `service` (default: probe.ts's
   * TCP connect, where a refusal counts: the relay's kernel sent it back through the tunnel).
   */
  readonly answers?: (service: string, timeoutMs: number) => Promise<boolean>;
  /** Test hook (hidden CLI option): wait this long between switch and verification. */
  readonly holdAfterSwitchMs?: number;
}

/** Settings of a negotiation that do not change between attempts. */
export interface NegotiationSettings {
  readonly verifyTimeoutMs: number;
  /**
   * Per interface, the parent private key (e.g. read from the wg-quick file), so a
   * watcher started while the interface is on an ephemeral key can still go back.
   * The negotiation takes ownership and wipes it.
   */
  readonly parentKeys?: ReadonlyMap<string, Uint8Array>;
}

/** What every step of a negotiation works with: its ports, settings, clock and event sink. */
export interface NegotiationCore {
  readonly deps: NegotiateDeps;
  readonly settings: NegotiationSettings;
  readonly clock: Clock;
  readonly emit: (event: ClientEvent) => void;
  /** Two hops: each hop's config service is routed through its own interface in turn. */
  readonly multihop: boolean;
}
