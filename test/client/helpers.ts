/**
 * Test doubles for the client: a relay on 127.0.0.1 built from startRpcServer that can
 * misbehave on purpose, and a simulated network over FakeWgControl that handshakes only
 * when the client's key and PSK are ones the relay knows — so a wrong PSK really fails
 * verification, as on a real tunnel. No packet leaves 127.0.0.1.
 */
import { createServer } from 'node:net';
import { combineSharedSecrets } from '../../src/kem/psk.js';
import type { Clock, TunnelProbe } from '../../src/client/verify.js';
import type { WatchDeps } from '../../src/client/watch.js';
import type { Kem } from '../../src/kem/types.js';
import type { ReceivedRegisterRequest } from '../../src/protocol/messages.js';
import { validateRegisterRequest } from '../../src/protocol/request.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import type { WgControl } from '../../src/wg/types.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { inThreadKems } from '../fixtures/kems.js';

/** How a test relay answers. */
export type RelayMode =
  /** Correct ciphertexts; the PSK it records is the one the client derives. */
  | 'good'
  /** The HQC-256 ciphertext one byte short. */
  | 'wrong-length'
  /** Well-formed ML-KEM-1024 ciphertext for another key: decapsulates (implicit rejection) to another PSK. */
  | 'wrong-ciphertext'
  /** Well-formed HQC-256 ciphertext that HQC rejects explicitly. */
  | 'hqc-tampered';

export interface Registration {
  readonly parent: string;
  readonly ephemeral: string;
  readonly psk: Uint8Array;
}

export interface TestRelay {
  readonly address: string;
  readonly registrations: Registration[];
  /** Modes for the next calls, consumed in order; `mode` applies after. */
  readonly queue: RelayMode[];
  mode: RelayMode;
  close(): void;
}

/** Where a test relay listens and, on the real bed, the interface it registers peers on. */
export interface TestRelayOptions {
  /** `ip:port`; default 127.0.0.1 and a free port. */
  readonly address?: string;
  /** Add each ephemeral peer (no allowed-ips) with the relay's PSK, like a real relay would. */
  readonly wg?: { readonly control: WgControl; readonly iface: string };
}

/** Start a relay's config service (127.0.0.1 and a free port unless told otherwise). */
export async function startTestRelay(mode: RelayMode = 'good', options: TestRelayOptions = {}): Promise<TestRelay> {
  const registrations: Registration[] = [];
  const queue: RelayMode[] = [];
  const relay: { mode: RelayMode } = { mode };
  const server: RpcServer = await startRpcServer(
    options.address ?? '127.0.0.1:0',
    async (request: ReceivedRegisterRequest) => {
      const current = queue.shift() ?? relay.mode;
      const valid = validateRegisterRequest(request);
      const kems = inThreadKems();
      const ciphertexts: Uint8Array[] = [];
      const secrets: Uint8Array[] = [];
      for (const k of valid.kems) {
        const kem = kems.get(k.name)!;
        let publicKey = k.publicKey;
        if (current === 'wrong-ciphertext' && k.name === 'ML-KEM-1024') publicKey = (await kem.keygen()).publicKey;
        const enc = await kem.encapsulate(publicKey);
        let ct = enc.ciphertext;
        if (current === 'wrong-length' && k.name === 'HQC-256') ct = ct.subarray(0, ct.length - 1);
        if (current === 'hqc-tampered' && k.name === 'HQC-256') ct = Uint8Array.from(ct, (b, i) => (i === 100 ? b ^ 1 : b));
        ciphertexts.push(ct);
        secrets.push(enc.sharedSecret);
      }
      const registration = {
        parent: publicKeyToText(valid.parentKey),
        ephemeral: publicKeyToText(valid.ephemeralKey),
        psk: combineSharedSecrets(secrets),
      };
      registrations.push(registration);
      for (const s of secrets) s.fill(0);
      if (options.wg !== undefined) {
        await options.wg.control.set(options.wg.iface, { peers: [{ publicKey: registration.ephemeral, presharedKey: registration.psk }] });
      }
      return { post_quantum: { ciphertexts } };
    },
    { maxRequestBytes: 32 * 1024 },
  );
  return {
    address: server.address,
    registrations,
    queue,
    get mode() {
      return relay.mode;
    },
    set mode(m: RelayMode) {
      relay.mode = m;
    },
    close: () => server.forceShutdown(),
  };
}

/** A 127.0.0.1 port with nothing listening (bound then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A fresh WireGuard keypair: private bytes and public text. */
export function wgKeypair(): { privateKey: Uint8Array; publicKey: string } {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyToText(publicKeyOf(privateKey)) };
}

export function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A client interface on the fake with one relay peer; returns the parent keypair. */
export async function clientInterface(wg: FakeWgControl, iface: string, relayPeer: string, allowed: string): Promise<{ privateKey: Uint8Array; publicKey: string }> {
  const parent = wgKeypair();
  wg.addInterface(iface, { privateKey: parent.privateKey });
  await wg.set(iface, { peers: [{ publicKey: relayPeer, endpoint: '192.0.2.1:51820', allowedIps: [allowed] }] });
  return parent;
}

/**
 * Time for client tests: the real time plus whatever the code under test slept, so its
 * waits (verification polls, attempt windows, the next-second rule) are recorded, not waited.
 */
export class VirtualClock implements Clock {
  slept = 0;
  /** Steps of the wall clock (NTP, `date -s`): they move now() but not monotonic(). */
  stepped = 0;

  now(): number {
    return Date.now() + this.slept + this.stepped;
  }

  monotonic(): number {
    return performance.now() + this.slept;
  }

  /** Records the wait, then yields to I/O once (a loop that only sleeps must not starve the relay). */
  async sleep(ms: number): Promise<void> {
    this.slept += Math.max(0, ms);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One hop of the simulated network: which client interface reaches which relay. */
export interface SimRoute {
  readonly iface: string;
  readonly relayPeer: string;
  readonly relay: TestRelay;
  /** The key the relay knows the client by before any negotiation. */
  readonly parentPublicKey: string;
  /** The PSK the relay holds for the parent (null: none). */
  readonly parentPsk?: Uint8Array | null;
  /** The service of the outer hop this one travels through (multihop exit). */
  readonly via?: string;
}

/**
 * A TunnelProbe over the fake: a poke handshakes (sets the fake's latest handshake) only
 * when the interface's key and PSK match the relay's parent or one of its registrations,
 * and the outer hop (if any) has a session; a connect succeeds only over a live session.
 */
export class SimNetwork implements TunnelProbe {
  readonly pokes: string[] = [];
  private readonly sessions = new Map<string, string>();

  /** `clock` stamps handshakes; give the negotiation the same one. */
  constructor(
    private readonly wg: FakeWgControl,
    private readonly routes: Map<string, SimRoute>,
    readonly clock: VirtualClock = new VirtualClock(),
  ) {}

  async poke(service: string): Promise<void> {
    this.pokes.push(service);
    const route = this.routes.get(service);
    if (route === undefined) return;
    if (route.via !== undefined && !(await this.live(route.via))) return;
    const state = await this.wg.show(route.iface);
    const psk = this.wg.presharedKeyOf(route.iface, route.relayPeer);
    try {
      const parentPsk = route.parentPsk ?? null;
      const isParent = state.publicKey === route.parentPublicKey && (parentPsk === null ? psk === null : equalBytes(psk, parentPsk));
      const known = isParent || route.relay.registrations.some((r) => r.ephemeral === state.publicKey && equalBytes(r.psk, psk));
      if (!known) return;
    } finally {
      psk?.fill(0);
    }
    this.wg.setLatestHandshake(route.iface, route.relayPeer, Math.floor(this.clock.now() / 1000));
    this.sessions.set(route.iface, `${state.publicKey}#${this.setCount(route.iface)}`);
  }

  async connect(service: string): Promise<void> {
    if (!(await this.live(service))) throw new Error('no session');
  }

  private async live(service: string): Promise<boolean> {
    const route = this.routes.get(service);
    if (route === undefined) return false;
    if (route.via !== undefined && !(await this.live(route.via))) return false;
    const state = await this.wg.show(route.iface);
    return this.sessions.get(route.iface) === `${state.publicKey}#${this.setCount(route.iface)}`;
  }

  /** A key change ends every session, as in WireGuard: sessions are tied to the set count. */
  private setCount(iface: string): number {
    return this.wg.operations.filter((o) => o.op === 'set' && o.iface === iface && o.failed === undefined).length;
  }
}

/**
 * A watcher's dependencies on the simulated network: its probe and virtual clock, quiet
 * traffic, a config service that always answers, no rotation jitter, the interface
 * present unless `extra` says otherwise.
 */
export function simWatchDeps(wg: WgControl, kems: readonly Kem[], net: SimNetwork, log: (line: string) => void, extra: Partial<WatchDeps> = {}): WatchDeps {
  return {
    wg,
    kems,
    probe: net,
    clock: net.clock,
    traffic: async () => ({ rx: 0, tx: 0 }),
    answers: async () => true,
    interfaceIndex: () => 7,
    random: () => 0.5,
    log,
    ...extra,
  };
}
