/**
 * WgControl over the real `wg` program (userspace wireguard-go or the kernel module).
 * Each method is one `wg` invocation through runner.ts; parsing is parse-summary.ts and
 * per-peer-parse.ts, the join of the relay's two reads peer-route-join.ts.
 */
import { PqpskError } from '../errors.js';
import {
  allowedIpsCommand,
  latestHandshakesCommand,
  publicKeyCommand,
  privateKeyCommand,
  setCommand,
  showCommand,
  type WgCommand,
} from './argv.js';
import { decodeKeyBase64 } from './keys.js';
import { yieldToEventLoop } from '../yield.js';
import { parseSummary } from './parse-summary.js';
import { PerPeerLines, allowedIpsParser, latestHandshakesParser, parsePublicKey, type PerPeerParser } from './per-peer-parse.js';
import { PeerRouteJoin } from './peer-route-join.js';
import type { WgBrokerPort } from './broker-client.js';
import type { ShowField } from './broker-protocol.js';
import { runWg, SpareChannel, type WgRunnerOptions } from './runner.js';
import { pickReceived, readFrameErrors, transferCommand } from './transfer.js';
import type { RelayWg, WgControl, WgInterfaceSummary, WgPeerChange, WgPeerRoute } from './types.js';

/**
 * Lines of a per-peer read parsed (or peers joined) per task: about a millisecond, so a
 * read of 10 000 peers (tens of milliseconds on a loaded machine) never holds the event
 * loop in one piece.
 */
export const PARSE_SLICE_LINES = 1000;

/** The production WgControl; `options.netns` makes it act inside a network namespace. */
export class RealWgControl implements WgControl, RelayWg {
  /** The last secret-free per-peer reads, per interface, so the next parse skips unchanged lines. */
  readonly #allowedIpLines = new Map<string, PerPeerLines<readonly string[]>>();
  readonly #handshakeLines = new Map<string, PerPeerLines<number>>();
  /** The last join of the two per interface, kept while both reads come back unchanged. */
  readonly #routes = new Map<string, { ips: ReadonlyMap<string, readonly string[]>; handshakes: ReadonlyMap<string, number>; routes: readonly WgPeerRoute[] }>();
  /** The next `set` with keys takes this secret channel, when prepareSet made one. */
  readonly #spare: SpareChannel;

  /**
   * With `broker`, the relay's reads and `set` go to the privileged broker (broker.ts)
   * instead of starting `wg` here: the unprivileged relay of `pqpsk server` uses it.
   */
  constructor(
    protected readonly options: WgRunnerOptions = {},
    private readonly broker?: WgBrokerPort,
  ) {
    this.#spare = new SpareChannel(options);
  }

  /** `wg show <iface>`: public key, peers and which have a PSK; keys print as `(hidden)`. */
  async summary(iface: string): Promise<WgInterfaceSummary> {
    const bytes = await runWg(() => showCommand(iface), iface, this.options);
    try {
      return parseSummary(iface, bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** `wg show <iface> private-key`, decoded straight from the output bytes, which are then wiped. */
  async readPrivateKey(iface: string): Promise<Uint8Array> {
    const bytes = await runWg(() => privateKeyCommand(iface), iface, this.options);
    try {
      if (isNone(bytes)) {
        throw new PqpskError('NOT_FOUND', `WireGuard interface ${iface} has no private key`);
      }
      try {
        return decodeKeyBase64(`\`wg show ${iface} private-key\` output`, bytes);
      } catch (err) {
        throw new PqpskError('WG_FAILURE', err instanceof Error ? err.message : 'unreadable private key');
      }
    } finally {
      bytes.fill(0);
    }
  }

  /** `wg show <iface> public-key`: no secret in the output. */
  async publicKey(iface: string): Promise<string> {
    const bytes = await this.#show(iface, 'public-key', publicKeyCommand);
    return parsePublicKey(iface, new TextDecoder().decode(bytes));
  }

  /**
   * `wg show <iface> allowed-ips` and `latest-handshakes`, run together: no secret in
   * either output. Each is parsed as soon as it arrives, a slice of lines at a time with
   * the event loop let in between, so neither parse holds it for long.
   */
  async peerRoutes(iface: string): Promise<WgPeerRoute[]> {
    const [ips, handshakes] = await Promise.all([
      this.#show(iface, 'allowed-ips', allowedIpsCommand).then((bytes) => inSlices(allowedIpsParser(iface, bytes, linesOf(this.#allowedIpLines, iface)))),
      this.#show(iface, 'latest-handshakes', latestHandshakesCommand).then((bytes) => inSlices(latestHandshakesParser(iface, bytes, linesOf(this.#handshakeLines, iface)))),
    ]);
    // Both reads as last time (the same maps: see PerPeerParser): so is their join.
    const last = this.#routes.get(iface);
    if (last !== undefined && last.ips === ips && last.handshakes === handshakes) return [...last.routes];
    await yieldToEventLoop();
    const join = new PeerRouteJoin(ips, handshakes);
    while (!join.step(PARSE_SLICE_LINES)) await yieldToEventLoop();
    const routes = join.result;
    this.#routes.set(iface, { ips, handshakes, routes });
    return [...routes];
  }

  async latestHandshakes(iface: string): Promise<ReadonlyMap<string, number>> {
    const bytes = await this.#show(iface, 'latest-handshakes', latestHandshakesCommand);
    return inSlices(latestHandshakesParser(iface, bytes, linesOf(this.#handshakeLines, iface)));
  }

  async receivedBytes(iface: string, peers: ReadonlySet<string>): Promise<ReadonlyMap<string, number>> {
    const bytes = await this.#show(iface, 'transfer', transferCommand);
    return pickReceived(iface, bytes, peers);
  }

  async frameErrors(iface: string): Promise<number | null> {
    return readFrameErrors(iface);
  }

  async set(iface: string, change: { privateKey?: Uint8Array; peers?: readonly WgPeerChange[] }): Promise<void> {
    if (this.broker !== undefined) {
      // The relay behind a broker never sets a private key, and cannot run `wg` itself.
      if (change.privateKey !== undefined) throw new PqpskError('INTERNAL', 'a private key cannot be set through the broker');
      return this.broker.set(iface, change.peers ?? []);
    }
    const out = await runWg((dir) => setCommand(iface, change, dir), iface, this.options, this.#spare);
    out.fill(0);
  }

  /**
   * Makes the next keyed `set`'s secret channel now (one kept at a time; a `set` without
   * keys leaves it). Behind a broker, the broker keeps its own.
   */
  prepareSet(secrets: number): void {
    if (this.broker === undefined) this.#spare.prepare(secrets);
  }

  /** A secret-free `wg show <iface> <field>`, from the broker when there is one. */
  #show(iface: string, field: ShowField, command: (iface: string) => WgCommand): Promise<Uint8Array> {
    return this.broker !== undefined ? this.broker.show(iface, field) : runWg(() => command(iface), iface, this.options);
  }
}

/** Run a parser to the end, PARSE_SLICE_LINES at a time, letting the event loop in between. */
async function inSlices<T>(parser: PerPeerParser<T>): Promise<ReadonlyMap<string, T>> {
  while (!parser.step(PARSE_SLICE_LINES)) await yieldToEventLoop();
  return parser.result;
}

function linesOf<T>(byIface: Map<string, PerPeerLines<T>>, iface: string): PerPeerLines<T> {
  let lines = byIface.get(iface);
  if (lines === undefined) {
    lines = new PerPeerLines<T>();
    byIface.set(iface, lines);
  }
  return lines;
}

/** Whether `wg` printed `(none)`, checked on the bytes so a key never becomes a string. */
function isNone(bytes: Uint8Array): boolean {
  const none = '(none)';
  if (bytes.length < none.length || bytes.length > none.length + 1) return false;
  for (let i = 0; i < none.length; i++) if (bytes[i] !== none.charCodeAt(i)) return false;
  return true;
}
