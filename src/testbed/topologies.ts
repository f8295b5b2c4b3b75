/**
 * The two topologies every later test (and `pqpsk demo`) runs on, built from Bed
 * primitives with real wireguard-go. Addresses come from documentation ranges
 * (198.51.100.0/24, 203.0.113.0/24; RFC 5737) for the underlays and Mullvad-style
 * tunnel ranges (entry 10.64.0.0/16, exit 10.65.0.0/16) inside the tunnels. Private
 * keys are generated in memory, set through the secret channel, and wiped.
 *
 * Single hop:
 *   client ns                              relay ns
 *   wgc 10.64.0.2/32 ── veth 198.51.100.2 ── 198.51.100.1:51820 wgr 10.64.0.1/16
 *
 * Nested multihop (the inner tunnel's UDP rides inside the outer tunnel):
 *   client ns                         entry ns (forwards)                exit ns
 *   wgo 10.64.0.2 ─ 198.51.100.2 ── 198.51.100.1:51820 wge 10.64.0.1
 *                                   203.0.113.1 ─────────────── 203.0.113.2:51820 wgx 10.65.0.1
 *   wgi 10.65.0.2 → endpoint 203.0.113.2:51820, routed via wgo
 */
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import { Bed } from './bed.js';
import { linkName } from './names.js';

/** WireGuard's default listen port, used by every relay in the bed. */
export const RELAY_PORT = 51820;
/** wireguard-go's default MTU. */
export const DEFAULT_MTU = 1420;

/** The config-service address of every relay of the bed, as on Mullvad's relays. */
export const SERVICE_ADDRESS = '10.64.0.1';

/** One WireGuard interface of the bed. */
export interface BedInterface {
  readonly namespace: string;
  readonly iface: string;
  readonly publicKey: string;
  /** The interface's own tunnel address (no prefix), e.g. `10.64.0.2`. */
  readonly address: string;
  readonly mtu: number;
}

/** A relay: its interface plus where clients reach it. */
export interface BedRelay extends BedInterface {
  /** The relay's tunnel address, which clients ping: equals `address`. */
  readonly gateway: string;
  /**
   * Where `pqpsk server` answers: 10.64.0.1 on every relay, as on Mullvad's, the exit of a
   * multihop bed too (there an extra address beside its gateway, reached through the
   * client's inner tunnel while that hop negotiates).
   */
  readonly serviceAddress: string;
  readonly listenPort: number;
  /** `underlay-address:port`, what a client puts as the peer endpoint. */
  readonly endpoint: string;
  readonly underlayAddress: string;
}

/** Facts about a single-hop bed that tests and the demo need (names, addresses, public keys). */
export interface SingleHopTopology {
  readonly kind: 'single-hop';
  readonly suffix: string;
  readonly client: BedInterface & { readonly underlayAddress: string };
  readonly relay: BedRelay;
  readonly underlay: string;
}

/** Facts about a nested multihop bed. */
export interface MultihopTopology {
  readonly kind: 'multihop';
  readonly suffix: string;
  readonly client: {
    readonly namespace: string;
    readonly underlayAddress: string;
    /** To the entry relay; also carries the inner tunnel's UDP. */
    readonly outer: BedInterface;
    /** To the exit relay, nested inside `outer`. */
    readonly inner: BedInterface;
  };
  readonly entry: BedRelay & { readonly forwardAddress: string };
  readonly exit: BedRelay;
  readonly underlays: { readonly clientEntry: string; readonly entryExit: string };
}

/** A built single-hop bed. */
export interface SingleHop {
  readonly bed: Bed;
  readonly topology: SingleHopTopology;
  /** Milliseconds from nothing to a configured bed (no traffic sent yet). */
  readonly buildMs: number;
}

/** A built multihop bed. */
export interface Multihop {
  readonly bed: Bed;
  readonly topology: MultihopTopology;
  readonly buildMs: number;
}

/** `suffix` pins the run's names (default: random); `mtu` sets each interface's MTU (default 1420). */
export interface SingleHopOptions {
  readonly suffix?: string;
  readonly mtu?: { readonly client?: number; readonly relay?: number };
}

/** As SingleHopOptions; the inner tunnel defaults to 1340 so it fits inside the outer one. */
export interface MultihopOptions {
  readonly suffix?: string;
  readonly mtu?: { readonly outer?: number; readonly inner?: number; readonly entry?: number; readonly exit?: number };
}

/** Builds client + relay joined by 198.51.100.0/24 with a tunnel 10.64.0.2 ↔ 10.64.0.1. On failure it tears down what it built. */
export async function buildSingleHop(options: SingleHopOptions = {}): Promise<SingleHop> {
  const started = Date.now();
  const bed = new Bed(options.suffix);
  try {
    const s = bed.suffix;
    const [clientNs, relayNs] = await Promise.all([bed.addNamespace('client'), bed.addNamespace('relay')]);
    const vc = linkName(s, 'vc');
    const vr = linkName(s, 'vr');
    await bed.addVeth([clientNs, vc, '198.51.100.2/24'], [relayNs, vr, '198.51.100.1/24']);
    const wgc = linkName(s, 'wc');
    const wgr = linkName(s, 'wr');
    await Promise.all([bed.addWireguard(clientNs, wgc), bed.addWireguard(relayNs, wgr)]);

    const clientMtu = options.mtu?.client ?? DEFAULT_MTU;
    const relayMtu = options.mtu?.relay ?? DEFAULT_MTU;
    const [clientPub, relayPub] = await Promise.all([
      configureInterface(bed, clientNs, wgc, null, '10.64.0.2/32', clientMtu),
      configureInterface(bed, relayNs, wgr, RELAY_PORT, '10.64.0.1/16', relayMtu),
    ]);
    const relayEndpoint = `198.51.100.1:${RELAY_PORT}`;
    await Promise.all([
      bed.wg(relayNs).set(wgr, { peers: [{ publicKey: clientPub, allowedIps: ['10.64.0.2/32'] }] }),
      bed.wg(clientNs).set(wgc, { peers: [{ publicKey: relayPub, endpoint: relayEndpoint, allowedIps: ['10.64.0.1/32'] }] }),
    ]);
    await bed.ip(clientNs, 'route', 'add', '10.64.0.1/32', 'dev', wgc);

    const topology: SingleHopTopology = {
      kind: 'single-hop',
      suffix: s,
      underlay: '198.51.100.0/24',
      client: { namespace: clientNs, iface: wgc, publicKey: clientPub, address: '10.64.0.2', mtu: clientMtu, underlayAddress: '198.51.100.2' },
      relay: {
        namespace: relayNs,
        iface: wgr,
        publicKey: relayPub,
        address: '10.64.0.1',
        gateway: '10.64.0.1',
        serviceAddress: SERVICE_ADDRESS,
        mtu: relayMtu,
        listenPort: RELAY_PORT,
        endpoint: relayEndpoint,
        underlayAddress: '198.51.100.1',
      },
    };
    return { bed, topology, buildMs: Date.now() - started };
  } catch (err) {
    await bed.teardown();
    throw err;
  }
}

/** Builds client, entry and exit with the client's inner tunnel nested in its outer one. On failure it tears down what it built. */
export async function buildMultihop(options: MultihopOptions = {}): Promise<Multihop> {
  const started = Date.now();
  const bed = new Bed(options.suffix);
  try {
    const s = bed.suffix;
    const [clientNs, entryNs, exitNs] = await Promise.all([
      bed.addNamespace('client'),
      bed.addNamespace('entry'),
      bed.addNamespace('exit'),
    ]);
    await Promise.all([
      bed.addVeth([clientNs, linkName(s, 'va'), '198.51.100.2/24'], [entryNs, linkName(s, 'vb'), '198.51.100.1/24']),
      bed.addVeth([entryNs, linkName(s, 'vc'), '203.0.113.1/24'], [exitNs, linkName(s, 'vd'), '203.0.113.2/24']),
    ]);
    // The entry relay routes between the client's tunnel and the exit's underlay.
    await bed.enableIpv4Forwarding(entryNs);
    const wgo = linkName(s, 'wo');
    const wgi = linkName(s, 'wi');
    const wge = linkName(s, 'we');
    const wgx = linkName(s, 'wx');
    await Promise.all([
      bed.addWireguard(clientNs, wgo),
      bed.addWireguard(clientNs, wgi),
      bed.addWireguard(entryNs, wge),
      bed.addWireguard(exitNs, wgx),
    ]);
    const mtu = {
      outer: options.mtu?.outer ?? DEFAULT_MTU,
      inner: options.mtu?.inner ?? DEFAULT_MTU - 80,
      entry: options.mtu?.entry ?? DEFAULT_MTU,
      exit: options.mtu?.exit ?? DEFAULT_MTU,
    };
    const [outerPub, innerPub, entryPub, exitPub] = await Promise.all([
      configureInterface(bed, clientNs, wgo, null, '10.64.0.2/32', mtu.outer),
      configureInterface(bed, clientNs, wgi, null, '10.65.0.2/32', mtu.inner),
      configureInterface(bed, entryNs, wge, RELAY_PORT, '10.64.0.1/16', mtu.entry),
      configureInterface(bed, exitNs, wgx, RELAY_PORT, '10.65.0.1/16', mtu.exit),
    ]);
    const entryEndpoint = `198.51.100.1:${RELAY_PORT}`;
    const exitEndpoint = `203.0.113.2:${RELAY_PORT}`;
    await Promise.all([
      bed.wg(entryNs).set(wge, { peers: [{ publicKey: outerPub, allowedIps: ['10.64.0.2/32'] }] }),
      bed.wg(exitNs).set(wgx, { peers: [{ publicKey: innerPub, allowedIps: ['10.65.0.2/32'] }] }),
      // The outer peer also owns the exit's underlay address: the inner tunnel's UDP goes in here.
      bed.wg(clientNs).set(wgo, { peers: [{ publicKey: entryPub, endpoint: entryEndpoint, allowedIps: ['10.64.0.1/32', '203.0.113.2/32'] }] }),
      bed.wg(clientNs).set(wgi, { peers: [{ publicKey: exitPub, endpoint: exitEndpoint, allowedIps: ['10.65.0.1/32', `${SERVICE_ADDRESS}/32`] }] }),
    ]);
    await bed.ip(clientNs, 'route', 'add', '10.64.0.1/32', 'dev', wgo);
    await bed.ip(clientNs, 'route', 'add', '203.0.113.2/32', 'dev', wgo, 'src', '10.64.0.2');
    await bed.ip(clientNs, 'route', 'add', '10.65.0.1/32', 'dev', wgi);
    // The exit's config service answers on 10.64.0.1 like the entry's; the client reaches it
    // through the inner tunnel by a host route that `pqpsk negotiate` sets while it asks.
    await bed.ip(exitNs, 'address', 'add', `${SERVICE_ADDRESS}/32`, 'dev', wgx);
    // The exit answers the inner tunnel (source 10.64.0.2) back through the entry.
    await bed.ip(exitNs, 'route', 'add', '10.64.0.0/16', 'via', '203.0.113.1');

    const topology: MultihopTopology = {
      kind: 'multihop',
      suffix: s,
      underlays: { clientEntry: '198.51.100.0/24', entryExit: '203.0.113.0/24' },
      client: {
        namespace: clientNs,
        underlayAddress: '198.51.100.2',
        outer: { namespace: clientNs, iface: wgo, publicKey: outerPub, address: '10.64.0.2', mtu: mtu.outer },
        inner: { namespace: clientNs, iface: wgi, publicKey: innerPub, address: '10.65.0.2', mtu: mtu.inner },
      },
      entry: {
        namespace: entryNs,
        iface: wge,
        publicKey: entryPub,
        address: '10.64.0.1',
        gateway: '10.64.0.1',
        serviceAddress: SERVICE_ADDRESS,
        mtu: mtu.entry,
        listenPort: RELAY_PORT,
        endpoint: entryEndpoint,
        underlayAddress: '198.51.100.1',
        forwardAddress: '203.0.113.1',
      },
      exit: {
        namespace: exitNs,
        iface: wgx,
        publicKey: exitPub,
        address: '10.65.0.1',
        gateway: '10.65.0.1',
        serviceAddress: SERVICE_ADDRESS,
        mtu: mtu.exit,
        listenPort: RELAY_PORT,
        endpoint: exitEndpoint,
        underlayAddress: '203.0.113.2',
      },
    };
    return { bed, topology, buildMs: Date.now() - started };
  } catch (err) {
    await bed.teardown();
    throw err;
  }
}

/**
 * Gives an interface a fresh private key (through the secret channel; wiped after), an
 * optional fixed listen port, an address and an MTU, and brings it up. Returns its public key.
 */
async function configureInterface(
  bed: Bed,
  ns: string,
  iface: string,
  listenPort: number | null,
  cidr: string,
  mtu: number,
): Promise<string> {
  const wg = bed.wg(ns);
  const privateKey = generatePrivateKey();
  let publicKey: string;
  try {
    publicKey = publicKeyToText(publicKeyOf(privateKey));
    await wg.set(iface, { privateKey });
  } finally {
    privateKey.fill(0);
  }
  if (listenPort !== null) await wg.setListenPort(iface, listenPort);
  await bed.ip(ns, 'addr', 'add', cidr, 'dev', iface);
  await bed.setMtu(ns, iface, mtu);
  await bed.ip(ns, 'link', 'set', 'dev', iface, 'up');
  return publicKey;
}

/**
 * A second tunnel client of a single-hop relay, in its own namespace: its own underlay
 * (203.0.113.0/24, a documentation range) to the relay namespace and its own WireGuard
 * interface at `address`, registered on the relay as a plain peer with a host route.
 * Torn down with the bed.
 */
export async function addTunnelClient(hop: SingleHop, role: string, address: string): Promise<BedInterface> {
  const { bed, topology } = hop;
  const s = bed.suffix;
  const ns = await bed.addNamespace(role);
  await bed.addVeth([ns, linkName(s, 'vx'), '203.0.113.2/24'], [topology.relay.namespace, linkName(s, 'vy'), '203.0.113.1/24']);
  const iface = linkName(s, 'wx');
  await bed.addWireguard(ns, iface);
  const publicKey = await configureInterface(bed, ns, iface, null, `${address}/32`, DEFAULT_MTU);
  await Promise.all([
    bed.wg(topology.relay.namespace).set(topology.relay.iface, { peers: [{ publicKey, allowedIps: [`${address}/32`] }] }),
    bed.wg(ns).set(iface, { peers: [{ publicKey: topology.relay.publicKey, endpoint: `203.0.113.1:${RELAY_PORT}`, allowedIps: [`${topology.relay.address}/32`] }] }),
  ]);
  await bed.ip(ns, 'route', 'add', `${topology.relay.address}/32`, 'dev', iface);
  return { namespace: ns, iface, publicKey, address, mtu: DEFAULT_MTU };
}
