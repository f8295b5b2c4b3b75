/**
 * Shapes shared by the client's negotiation (src/client/) and the CLI that prints it.
 * Nothing here holds a secret: reports carry public keys, PSK fingerprints and timings.
 */
import type { KemName } from '../kem/types.js';
import type { HopRole } from '../protocol/plan.js';

/** One tunnel to negotiate: which interface, which relay peer, where its config service listens. */
export interface HopSpec {
  readonly role: HopRole;
  readonly iface: string;
  /** The relay's public key (base64); null means the interface's only peer. */
  readonly peer: string | null;
  /** The relay's config service, `ip:port`, reached through this hop's tunnel. */
  readonly service: string;
  /**
   * Advice added when nothing at all answers at `service` (e.g. that it was only the
   * default, and the option that names the right one); the CLI alone knows it.
   */
  readonly noAnswerAdvice?: string;
  /**
   * Switch the key of an interface that has other peers too (they stop working until
   * their ends learn the new key). Only with an explicit `peer`.
   */
  readonly allowOtherPeers?: boolean;
}

/** Milliseconds spent in each step of the successful attempt of one hop. */
export interface HopTimings {
  readonly keygenMs: number;
  readonly rpcMs: number;
  readonly decapsMs: number;
  readonly switchMs: number;
  readonly verifyMs: number;
  /** From this hop's exchange start to its verified switch. */
  readonly totalMs: number;
}

/** What the user (and `--json`) learns about one switched hop. */
export interface HopReport {
  readonly role: HopRole;
  readonly interface: string;
  readonly peer: string;
  readonly service: string;
  readonly parentPublicKey: string;
  readonly ephemeralPublicKey: string;
  /** First 8 bytes of SHA-256(PSK), hex: comparable across both ends, never the PSK. */
  readonly pskFingerprint: string;
  readonly algorithms: readonly KemName[];
  readonly timings: HopTimings;
}

/** The outcome of a successful negotiation. */
export interface NegotiationReport {
  readonly hops: readonly HopReport[];
  /** Attempts made, the successful one included. */
  readonly attempts: number;
  readonly totalMs: number;
}

/**
 * Progress as it happens, for `--verbose` and for tests that check the order of steps.
 * Error texts are our own messages (no secrets by the error family's rule).
 */
export type ClientEvent =
  | { readonly kind: 'attempt'; readonly attempt: number; readonly timeoutMs: number }
  | { readonly kind: 'exchanged'; readonly role: HopRole; readonly iface: string; readonly ephemeralPublicKey: string; readonly pskFingerprint: string }
  | { readonly kind: 'switched'; readonly role: HopRole; readonly iface: string }
  | { readonly kind: 'verified'; readonly role: HopRole; readonly iface: string }
  | { readonly kind: 'attempt-failed'; readonly attempt: number; readonly code: string; readonly message: string; readonly nextInMs: number | null }
  | { readonly kind: 'rolled-back'; readonly role: HopRole; readonly iface: string; readonly working: boolean; readonly message?: string }
  | { readonly kind: 'mss-clamp'; readonly service: string; readonly applied: boolean; readonly message: string };
