/**
 * One key exchange with a relay's config service: a fresh
 * X25519 WireGuard keypair and fresh KEM keypairs, one RegisterPeerV1 call, the answer
 * validated and decapsulated, the PSK derived — all inside one attempt's time budget.
 *
 * Every KEM keypair serves exactly one decapsulation and its secret key is wiped in
 * `finally`, whatever happened (see src/kem/registry.ts for why reuse is unsafe for HQC).
 * Wiping is best effort in JS: the engine or a library may hold copies we cannot reach.
 */
import { inspect } from 'node:util';
import { PqpskError } from '../errors.js';
import { Psk } from '../kem/psk.js';
import type { Kem, KemKeypair, KemName } from '../kem/types.js';
import { buildRegisterRequest } from '../protocol/request.js';
import { ciphertextsFromResponse } from '../protocol/response.js';
import type { RegisterRequestInput, WireRegisterResponse } from '../protocol/messages.js';
import { callRegisterPeer, type RegisterCallOptions } from '../rpc/client.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../wg/keys.js';

/** The RegisterPeerV1 call, injectable so tests can count or fail calls. */
export type RegisterCall = (target: string, request: RegisterRequestInput, options: RegisterCallOptions) => Promise<WireRegisterResponse>;

/** What an exchange needs from outside. */
export interface ExchangeDeps {
  /** The KEMs to offer, in request order (the PSK combines their secrets in this order). */
  readonly kems: readonly Kem[];
  readonly call?: RegisterCall;
  /** A fresh clamped WireGuard private key; default node:crypto X25519. */
  readonly generatePrivateKey?: () => Uint8Array;
  readonly now?: () => number;
}

/** What holds an exchange's secrets prints as `<secret>` (JSON, string, inspect). */
class PrintsAsSecret {
  toJSON(): string {
    return '<secret>';
  }

  toString(): string {
    return '<secret>';
  }

  [inspect.custom](): string {
    return '<secret>';
  }
}

/**
 * The outcome of an exchange: the ephemeral WireGuard keypair and the PSK the relay holds
 * for it. Owns its secrets until `wipe()`; prints as `<secret>`.
 */
export class Exchange extends PrintsAsSecret {
  readonly #privateKey: Uint8Array;
  /** The ephemeral public key as `wg` prints it. */
  readonly publicKey: string;
  readonly psk: Psk;
  readonly algorithms: readonly KemName[];
  readonly keygenMs: number;
  readonly rpcMs: number;
  readonly decapsMs: number;

  constructor(fields: { privateKey: Uint8Array; publicKey: string; psk: Psk; algorithms: readonly KemName[]; keygenMs: number; rpcMs: number; decapsMs: number }) {
    super();
    this.#privateKey = fields.privateKey;
    this.publicKey = fields.publicKey;
    this.psk = fields.psk;
    this.algorithms = fields.algorithms;
    this.keygenMs = fields.keygenMs;
    this.rpcMs = fields.rpcMs;
    this.decapsMs = fields.decapsMs;
  }

  /** The live private key buffer (not a copy); valid until `wipe()`. */
  privateKey(): Uint8Array {
    return this.#privateKey;
  }

  wipe(): void {
    this.#privateKey.fill(0);
    this.psk.wipe();
  }
}

/**
 * An exchange's fresh keys: the X25519 WireGuard keypair and one KEM keypair per KEM.
 * Made before the exchange when there is time to spare (the client waiting on processes
 * and the network); the exchange that takes them wipes them, or `wipe()` does.
 */
export class ExchangeKeys extends PrintsAsSecret {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly keypairs: readonly KemKeypair[];
  /** How long making them took, ms. */
  readonly keygenMs: number;

  constructor(fields: { privateKey: Uint8Array; publicKey: Uint8Array; keypairs: readonly KemKeypair[]; keygenMs: number }) {
    super();
    this.privateKey = fields.privateKey;
    this.publicKey = fields.publicKey;
    this.keypairs = fields.keypairs;
    this.keygenMs = fields.keygenMs;
  }

  wipe(): void {
    this.privateKey.fill(0);
    for (const pair of this.keypairs) pair.secretKey.fill(0);
  }
}

/**
 * Make an exchange's keys. `between` runs before each keypair (the first one too), so the
 * event loop can serve other work (a process's output, a connection) between the keys,
 * each some ms of CPU.
 */
export async function makeExchangeKeys(deps: Pick<ExchangeDeps, 'kems' | 'generatePrivateKey' | 'now'>, between: () => Promise<void> = async () => undefined): Promise<ExchangeKeys> {
  const now = deps.now ?? Date.now;
  if (deps.kems.length === 0) throw new PqpskError('INVALID_INPUT', 'KEM list: expected at least one KEM');
  await between();
  const start = now();
  const privateKey = (deps.generatePrivateKey ?? generatePrivateKey)();
  const keypairs: KemKeypair[] = [];
  try {
    const publicKey = publicKeyOf(privateKey);
    for (const kem of deps.kems) {
      await between();
      keypairs.push(await kem.keygen());
    }
    return new ExchangeKeys({ privateKey, publicKey, keypairs, keygenMs: now() - start });
  } catch (err) {
    privateKey.fill(0);
    for (const pair of keypairs) pair.secretKey.fill(0);
    throw err;
  }
}

/**
 * Run one exchange against `service` (`ip:port`) on behalf of `parentPublicKey` (32 raw
 * bytes: the key the interface holds now). `timeoutMs` covers connect, key generation,
 * the call and decapsulation; passing it is a TIMEOUT error naming the service and the
 * step (the call's own failures name the service and say what happened). `made`: keys
 * made ahead for `deps.kems`, which the exchange takes over (and wipes); made here otherwise.
 */
export async function exchange(parentPublicKey: Uint8Array, service: string, timeoutMs: number, deps: ExchangeDeps, made?: Promise<ExchangeKeys>): Promise<Exchange> {
  const now = deps.now ?? Date.now;
  const call = deps.call ?? callRegisterPeer;
  const start = now();
  const deadline = start + timeoutMs;
  const overdue = (step: string): void => {
    if (now() > deadline) throw new PqpskError('TIMEOUT', `attempt with ${service} ran out of its ${Math.round(timeoutMs)} ms during ${step}`);
  };
  if (deps.kems.length === 0) {
    void made?.then((k) => k.wipe(), () => undefined);
    throw new PqpskError('INVALID_INPUT', 'KEM list: expected at least one KEM');
  }

  const keys = await (made ?? makeExchangeKeys(deps));
  const { privateKey, publicKey, keypairs } = keys;
  const shared: Uint8Array[] = [];
  let done = false;
  try {
    if (keypairs.length !== deps.kems.length) throw new PqpskError('INTERNAL', 'keys made ahead for other KEMs');
    const keygenEnd = now();
    overdue('key generation');

    const request = buildRegisterRequest(
      parentPublicKey,
      publicKey,
      deps.kems.map((kem, i) => ({ name: kem.name, publicKey: keypairs[i]!.publicKey })),
    );
    const response = await call(service, request, { deadline, budgetMs: timeoutMs });
    const rpcEnd = now();
    const ciphertexts = ciphertextsFromResponse(response, deps.kems);

    for (const [i, kem] of deps.kems.entries()) {
      shared.push(await kem.decapsulate(ciphertexts[i]!, keypairs[i]!.secretKey));
    }
    overdue('decapsulation');
    const psk = Psk.fromSharedSecrets(shared);
    const end = now();
    done = true;
    return new Exchange({
      privateKey,
      publicKey: publicKeyToText(publicKey),
      psk,
      algorithms: deps.kems.map((k) => k.name),
      keygenMs: keys.keygenMs,
      rpcMs: rpcEnd - keygenEnd,
      decapsMs: end - rpcEnd,
    });
  } finally {
    for (const pair of keypairs) pair.secretKey.fill(0);
    for (const secret of shared) secret.fill(0);
    if (!done) privateKey.fill(0);
  }
}
