/**
 * A relay on the in-memory FakeWgControl for the server's unit tests, and a client side
 * that builds real requests (real ML-KEM-1024 / HQC-256 keys) and derives the PSK the
 * relay should have set. The relay interface's parent P owns 127.0.0.1/32, so calls over
 * loopback gRPC authenticate as P; Q owns 10.64.0.3/32 and is someone else.
 */
import assert from 'node:assert/strict';
import { combineSharedSecrets } from '../../src/kem/psk.js';
import type { KemKeypair, KemName } from '../../src/kem/types.js';
import type { RegisterRequestInput, WireRegisterRequest, WireRegisterResponse } from '../../src/protocol/messages.js';
import { MAX_REQUEST_BYTES } from '../../src/protocol/request.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import type { KemProvider } from '../../src/server/encapsulate.js';
import type { Clock } from '../../src/server/clock.js';
import { MemoryLogger } from '../../src/server/log.js';
import { Relay, type RelayOptions } from '../../src/server/relay.js';
import { FakeWgControl, type FakeCounting } from '../fixtures/fake-wg-control.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { inThreadKems } from '../fixtures/kems.js';

export const IFACE = 'wgr0';
export const P_IPS = ['127.0.0.1/32', '10.64.0.2/32'];
export const Q_IPS = ['10.64.0.3/32'];

export interface Keypair {
  readonly privateKey: Uint8Array;
  readonly publicKey: string;
  readonly raw: Uint8Array;
}

export function wgKeypair(): Keypair {
  const privateKey = generatePrivateKey();
  const raw = publicKeyOf(privateKey);
  return { privateKey, publicKey: publicToText(raw), raw };
}

function publicToText(raw: Uint8Array): string {
  return publicKeyToText(raw);
}

export const provider: KemProvider = (name) => inThreadKems().get(name)!;

/**
 * A controllable clock for the relay (ms since the epoch) and its timers. A timer runs
 * only when `runFor` moves time past it, so a test of the polling watcher never waits
 * for real time; `advance` moves time without running any.
 */
export class TestClock implements Clock {
  #timers: { at: number; seq: number; fn: () => void }[] = [];
  #seq = 0;
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  readonly setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.ms + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  };
  advance(ms: number): void {
    this.ms += ms;
  }
  /**
   * Moves time forward by `ms`, running each timer as its time comes (earliest first).
   * After each, it lets what the timer started run to its end, which a poller marks by
   * setting its next timer (at most 1000 turns of the event loop: the relay's passes over
   * the in-memory fake do no real I/O).
   */
  async runFor(ms: number): Promise<void> {
    const end = this.ms + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.ms = Math.max(this.ms, next.at);
      const set = this.#seq;
      next.fn();
      for (let turn = 0; turn < 1000 && this.#seq === set; turn++) await new Promise((resolve) => setImmediate(resolve));
    }
    this.ms = end;
  }
  /** Seconds, as `wg` reports handshake times. */
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
}

export interface World {
  readonly wg: FakeWgControl;
  readonly store: MemoryBookStore;
  readonly logger: MemoryLogger;
  readonly clock: TestClock;
  readonly relayKey: Keypair;
  readonly P: Keypair;
  readonly Q: Keypair;
  relay: Relay;
}

/** A relay interface with peers P and Q, and a Relay opened on it; `counting` as in FakeWgControl. */
export async function makeWorld(overrides: Partial<RelayOptions> = {}, store = new MemoryBookStore(), counting: FakeCounting = 'wireguard-go'): Promise<World> {
  const wg = new FakeWgControl({ counting });
  const relayKey = wgKeypair();
  wg.addInterface(IFACE, { privateKey: relayKey.privateKey });
  const P = wgKeypair();
  const Q = wgKeypair();
  await wg.set(IFACE, {
    peers: [
      { publicKey: P.publicKey, allowedIps: P_IPS },
      { publicKey: Q.publicKey, allowedIps: Q_IPS },
    ],
  });
  const clock = new TestClock();
  wg.setLatestHandshake(IFACE, P.publicKey, clock.seconds - 30);
  const logger = new MemoryLogger();
  const relay = await openRelay({ wg, store, logger, clock }, overrides);
  return { wg, store, logger, clock, relayKey, P, Q, relay };
}

export async function openRelay(
  w: { wg: FakeWgControl; store: MemoryBookStore; logger: MemoryLogger; clock: TestClock },
  overrides: Partial<RelayOptions> = {},
): Promise<Relay> {
  return Relay.open({
    iface: IFACE,
    wg: w.wg,
    store: w.store,
    kems: provider,
    logger: w.logger,
    clock: w.clock,
    rateLimit: null,
    ...overrides,
  });
}

/** A client's half of one registration: the request and how to derive the PSK from the answer. */
/** The world's relay behind real gRPC on 127.0.0.1, with the transport limit `pqpsk server` uses. */
export function serveOverLoopback(world: World): Promise<RpcServer> {
  return startRpcServer('127.0.0.1:0', (req, ctx) => world.relay.register(req, ctx), { maxRequestBytes: MAX_REQUEST_BYTES });
}

export interface ClientRequest {
  readonly request: RegisterRequestInput;
  readonly ephemeral: Keypair;
  /** Decapsulate the answer and combine the PSK (caller wipes it). */
  derive(response: WireRegisterResponse): Promise<Uint8Array>;
}

/** Build a real request for `parent` (raw 32 bytes) offering `names` in order. */
export async function clientRequest(parent: Uint8Array, names: readonly KemName[] = ['ML-KEM-1024']): Promise<ClientRequest> {
  const ephemeral = wgKeypair();
  const pairs: KemKeypair[] = [];
  for (const name of names) pairs.push(await inThreadKems().get(name)!.keygen());
  return {
    ephemeral,
    request: {
      wg_parent_pubkey: parent,
      wg_ephemeral_peer_pubkey: ephemeral.raw,
      post_quantum: { kem_pubkeys: names.map((name, i) => ({ algorithm_name: name, key_data: pairs[i]!.publicKey })) },
    },
    async derive(response) {
      const cts = response.post_quantum?.ciphertexts ?? [];
      assert.equal(cts.length, names.length, 'one ciphertext per KEM');
      const secrets: Uint8Array[] = [];
      try {
        for (const [i, name] of names.entries()) secrets.push(await inThreadKems().get(name)!.decapsulate(cts[i]!, pairs[i]!.secretKey));
        return combineSharedSecrets(secrets);
      } finally {
        for (const s of secrets) s.fill(0);
        for (const p of pairs) p.secretKey.fill(0);
      }
    },
  };
}

/** The request as the relay's handler sees it after decoding (absent sub-messages null). */
export function asWire(input: RegisterRequestInput): WireRegisterRequest {
  return {
    wg_parent_pubkey: Buffer.from(input.wg_parent_pubkey),
    wg_ephemeral_peer_pubkey: Buffer.from(input.wg_ephemeral_peer_pubkey),
    post_quantum:
      input.post_quantum == null
        ? null
        : { kem_pubkeys: input.post_quantum.kem_pubkeys.map((k) => ({ algorithm_name: k.algorithm_name, key_data: Buffer.from(k.key_data) })) },
    daita: input.daita ?? null,
    daita_v2: null,
  };
}

/** The response as a client decodes it. */
export function asWireResponse(response: { post_quantum?: { ciphertexts: Uint8Array[] } | null }): WireRegisterResponse {
  return { post_quantum: { ciphertexts: (response.post_quantum?.ciphertexts ?? []).map((c) => Buffer.from(c)) }, daita: null };
}

/** Register in-process (no gRPC) from `source`, returning the PSK the client derived. */
export async function registerDirect(relay: Relay, parent: Uint8Array, source: string, names?: readonly KemName[]): Promise<{ ephemeral: Keypair; psk: Uint8Array }> {
  const client = await clientRequest(parent, names);
  const response = await relay.register(asWire(client.request), { peerAddress: source });
  return { ephemeral: client.ephemeral, psk: await client.derive(asWireResponse(response)) };
}

/** Peers of the fake interface as `{key: allowed-ips}` (for whole-state comparisons). */
export async function peerTable(wg: FakeWgControl): Promise<Record<string, { allowedIps: readonly string[]; psk: boolean }>> {
  const state = await wg.show(IFACE);
  return Object.fromEntries(state.peers.map((p) => [p.publicKey, { allowedIps: p.allowedIps, psk: p.hasPresharedKey }]));
}

/** How many `set`s the fake has applied (successful or not). */
export function setCount(wg: FakeWgControl): number {
  return wg.operations.filter((o) => o.op === 'set').length;
}

/** A promise with its resolve handle, for holding a request in flight. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Every textual form of a secret a log or argv might leak. */
export function secretForms(secret: Uint8Array): string[] {
  const b = Buffer.from(secret);
  return [b.toString('base64'), b.toString('hex'), b.toString('base64url'), b.toString('base64').slice(0, 16), b.toString('hex').slice(0, 16)];
}

/** Waits (bounded) for `check` to hold; fails with `what` if it never does. Not a timing assertion. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
