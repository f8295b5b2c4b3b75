/**
 * Key custody for one hop: the keys an interface may be put back on (the working key,
 * the parent key), who owns them, and when they are wiped. The negotiation switches keys;
 * this file only holds them.
 *
 * Secrets held here: each hop's working private key (and its PSK) and its parent private
 * key, wiped by `wipe` and `adopt` — best effort in JS (the engine may have made copies).
 */
import type { HopSpec } from './types.js';

/** A key an interface may hold, kept in memory for switching back; owned (and wiped) by its hop. */
export interface HeldKey {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly publicKeyText: string;
  /**
   * The PSK that goes with it, null for none, or `unread`: the interface had a PSK when
   * the run opened (an earlier run's) and pqpsk does not read PSKs back, so this key
   * cannot be put back as it was; a failed switch goes to the parent key instead.
   */
  readonly psk: Uint8Array | null | 'unread';
}

/** Which key a request names as its parent: the working key (from the live ephemeral) or the parent key. */
export type Claim = 'working' | 'parent';

/**
 * One hop's state across attempts: the relay peer, the key that last worked on it
 * (`working`, where a failed switch returns) and the parent key the relay always knows
 * (`parent`: the one given, or else the key the interface had when the run began, which
 * then carried no PSK — `readHop` refuses an interface on a PSK whose parent is not given).
 */
export class HopState {
  readonly spec: HopSpec;
  readonly peer: string;
  #working: HeldKey;
  readonly #parent: HeldKey;
  /** The interface's public key when the run began. */
  readonly #startKey: string;

  /** `parent` may be `working` itself: the interface began on its parent key. */
  constructor(spec: HopSpec, peer: string, working: HeldKey, parent: HeldKey) {
    this.spec = spec;
    this.peer = peer;
    this.#working = working;
    this.#parent = parent;
    this.#startKey = working.publicKeyText;
  }

  /** Whether the interface is on another key than the one it had when the run began. */
  get moved(): boolean {
    return this.#working.publicKeyText !== this.#startKey;
  }

  get working(): HeldKey {
    return this.#working;
  }

  /** The parent key: configured on the relay, never registered, so the relay always knows it. */
  get parent(): HeldKey {
    return this.#parent;
  }

  /** Whether the interface is on a key other than its parent (an ephemeral key). */
  get onEphemeral(): boolean {
    return this.#working !== this.#parent;
  }

  /** Make `key` the working key; the old one is wiped unless it is the parent. */
  adopt(key: HeldKey): void {
    if (key === this.#working) return;
    if (this.#working !== this.#parent) wipeKey(this.#working);
    this.#working = key;
  }

  wipe(): void {
    wipeKey(this.#working);
    if (this.#parent !== this.#working) wipeKey(this.#parent);
  }

  toJSON(): string {
    return '<secret>';
  }
}

function wipeKey(key: HeldKey): void {
  key.privateKey.fill(0);
  if (key.psk instanceof Uint8Array) key.psk.fill(0);
}

/** The key a failed switch returns `hop` to: its working key, or its parent when the working PSK was never read. */
export function rollbackKey(hop: HopState, target: Claim): HeldKey {
  return target === 'parent' || hop.working.psk === 'unread' ? hop.parent : hop.working;
}
