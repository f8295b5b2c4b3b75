/**
 * What `pqpsk negotiate` prints: the line for each hop, the `--json` report, progress
 * lines for --verbose and the line for each failed attempt. Pure text from the client's
 * reports and events (never a secret); negotiate-run.ts decides when to print them.
 */
import type { ClientEvent, HopReport, HopTimings, NegotiationReport } from '../client/types.js';
import { jsonMs, timingsLine } from './ms.js';

/** A wait as the user reads it: whole seconds, or whole ms under one second. */
export function waitText(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`;
}

/**
 * The line a failed attempt prints even without --verbose, so a run that keeps failing
 * says why at once instead of after minutes of silence; the last one is left to the
 * "gave up" line.
 */
export function attemptFailedLine(e: Extract<ClientEvent, { kind: 'attempt-failed' }>): string {
  const next = e.nextInMs === null ? '' : e.nextInMs >= 1 ? `; next attempt in ${waitText(e.nextInMs)}` : '; trying again now';
  return `attempt ${e.attempt} failed: ${e.message}${next}`;
}

/** The `--json` object: per hop what can be shown (never a secret). */
export function reportJson(report: NegotiationReport): object {
  return {
    ok: true,
    attempts: report.attempts,
    totalMs: jsonMs(report.totalMs),
    hops: report.hops.map((h) => ({
      role: h.role,
      interface: h.interface,
      peer: h.peer,
      configService: h.service,
      parentPublicKey: h.parentPublicKey,
      ephemeralPublicKey: h.ephemeralPublicKey,
      pskFingerprint: h.pskFingerprint,
      algorithms: h.algorithms,
      timings: jsonTimings(h.timings),
    })),
  };
}

/** A hop's step times at `--json`'s fixed precision (src/cli/ms.ts). */
function jsonTimings(t: HopTimings): HopTimings {
  return {
    keygenMs: jsonMs(t.keygenMs),
    rpcMs: jsonMs(t.rpcMs),
    decapsMs: jsonMs(t.decapsMs),
    switchMs: jsonMs(t.switchMs),
    verifyMs: jsonMs(t.verifyMs),
    totalMs: jsonMs(t.totalMs),
  };
}

/** One human line per hop. */
export function hopLine(h: HopReport): string {
  return (
    `${h.interface}${h.role === 'single' ? '' : ` (${h.role})`}: switched to ephemeral key ${h.ephemeralPublicKey}, ` +
    `PSK fingerprint ${h.pskFingerprint} (${h.algorithms.join(' + ')}); ${timingsLine(h.timings)}`
  );
}

/** A progress line for --verbose. */
export function eventLine(e: ClientEvent): string {
  switch (e.kind) {
    case 'attempt':
      return `attempt ${e.attempt} (timeout ${Math.round(e.timeoutMs)} ms)`;
    case 'exchanged':
      return `${e.role} ${e.iface}: negotiated, ephemeral key ${e.ephemeralPublicKey}, PSK fingerprint ${e.pskFingerprint}`;
    case 'switched':
      return `${e.role} ${e.iface}: switched`;
    case 'verified':
      return `${e.role} ${e.iface}: verified`;
    case 'attempt-failed':
      return attemptFailedLine(e);
    case 'rolled-back':
      return `${e.role} ${e.iface}: rolled back${e.working ? ', tunnel works' : `: ${e.message ?? 'tunnel does not work'}`}`;
    case 'mss-clamp':
      return `mss guard for ${e.service}: ${e.applied ? '' : 'not applied: '}${e.message}`;
  }
}
