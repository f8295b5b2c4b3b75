/**
 * The relay's counters, rendered in the Prometheus text exposition format (version
 * 0.0.4) by hand: a dozen series do not justify a dependency. Names follow Prometheus
 * conventions (`_total` counters, `_seconds` units, cumulative `le` buckets).
 */
import type { FailureLabel } from '../error-table.js';

/** How a registration ended, as a label value (lower-case gRPC status names, src/error-table.ts). */
export type RegistrationResult = 'ok' | FailureLabel;

/** Latency buckets, seconds: HQC-256 costs tens of ms, a queue behind it more. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Encapsulation buckets, seconds: ML-KEM ~1 ms, HQC-256 ~20-40 ms. */
/** Batch sizes: one registration per `wg set` when idle, dozens under load. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];
const ENCAPS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((le, i) => {
      if (value <= le) this.counts[i]!++;
    });
  }

  render(name: string, labels: string, out: string[]): void {
    const sep = labels === '' ? '' : ',';
    this.buckets.forEach((le, i) => out.push(`${name}_bucket{${labels}${sep}le="${le}"} ${this.counts[i]}`));
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    const braces = labels === '' ? '' : `{${labels}}`;
    out.push(`${name}_sum${braces} ${round(this.sum)}`);
    out.push(`${name}_count${braces} ${this.count}`);
  }
}

/** Live counts the metrics read at render time (they belong to the relay's book). */
export interface PeerGauges {
  readonly live: number;
  readonly pending: number;
  readonly inflight: number;
}

/** All the relay's metrics. One instance per relay; render() for `/metrics`. */
export class RelayMetrics {
  readonly #registrations = new Map<RegistrationResult, number>();
  readonly #latency = new Histogram(LATENCY_BUCKETS);
  readonly #encaps = new Map<string, Histogram>();
  readonly #events = new Map<string, number>();
  readonly #refused = new Map<string, number>();
  readonly #batch = new Histogram(BATCH_BUCKETS);
  #gauges: () => PeerGauges = () => ({ live: 0, pending: 0, inflight: 0 });

  /** Where the gauges come from (set by the relay once it exists). */
  setGaugeSource(source: () => PeerGauges): void {
    this.#gauges = source;
  }

  registration(result: RegistrationResult, seconds: number): void {
    this.#registrations.set(result, (this.#registrations.get(result) ?? 0) + 1);
    this.#latency.observe(seconds);
  }

  encapsulation(algorithm: string, seconds: number): void {
    let histogram = this.#encaps.get(algorithm);
    if (histogram === undefined) {
      histogram = new Histogram(ENCAPS_BUCKETS);
      this.#encaps.set(algorithm, histogram);
    }
    histogram.observe(seconds);
  }

  /** A peer-state event (swap, swap-back, expired-pending, …), counted by kind. */
  peerEvent(kind: string): void {
    this.#events.set(kind, (this.#events.get(kind) ?? 0) + 1);
  }

  /** A refused request, by reason (a result label, or `source_budget` when refused unread). */
  refused(reason: string): void {
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
  }

  refusals(reason: string): number {
    return this.#refused.get(reason) ?? 0;
  }

  /** How many registrations one `wg set` carried. */
  batch(size: number): void {
    this.#batch.observe(size);
  }

  registrations(result: RegistrationResult): number {
    return this.#registrations.get(result) ?? 0;
  }

  events(kind: string): number {
    return this.#events.get(kind) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP pqpsk_registrations_total RegisterPeerV1 calls by result.');
    out.push('# TYPE pqpsk_registrations_total counter');
    for (const [result, n] of sorted(this.#registrations)) out.push(`pqpsk_registrations_total{result="${result}"} ${n}`);

    out.push('# HELP pqpsk_registration_duration_seconds Time from request to answer.');
    out.push('# TYPE pqpsk_registration_duration_seconds histogram');
    this.#latency.render('pqpsk_registration_duration_seconds', '', out);

    out.push('# HELP pqpsk_encapsulation_seconds KEM encapsulation time per algorithm.');
    out.push('# TYPE pqpsk_encapsulation_seconds histogram');
    for (const [algorithm, h] of sorted(this.#encaps)) h.render('pqpsk_encapsulation_seconds', `algorithm="${algorithm}"`, out);

    const gauges = this.#gauges();
    out.push('# HELP pqpsk_ephemeral_peers Ephemeral peers on the interface, live (holding the allowed-ips) or pending.');
    out.push('# TYPE pqpsk_ephemeral_peers gauge');
    out.push(`pqpsk_ephemeral_peers{state="live"} ${gauges.live}`);
    out.push(`pqpsk_ephemeral_peers{state="pending"} ${gauges.pending}`);
    out.push('# HELP pqpsk_registrations_in_flight Registrations being processed now.');
    out.push('# TYPE pqpsk_registrations_in_flight gauge');
    out.push(`pqpsk_registrations_in_flight ${gauges.inflight}`);

    out.push('# HELP pqpsk_swaps_total Allowed-ips moves: to a new ephemeral (swap) or back to the parent (swap-back).');
    out.push('# TYPE pqpsk_swaps_total counter');
    out.push(`pqpsk_swaps_total{direction="to_ephemeral"} ${this.events('swap')}`);
    out.push(`pqpsk_swaps_total{direction="to_parent"} ${this.events('swap-back')}`);
    out.push('# HELP pqpsk_expiries_total Ephemeral peers removed for never handshaking or idling past the TTL.');
    out.push('# TYPE pqpsk_expiries_total counter');
    out.push(`pqpsk_expiries_total{reason="no_handshake"} ${this.events('expired-pending')}`);
    out.push(`pqpsk_expiries_total{reason="idle"} ${this.events('expired-idle')}`);
    out.push('# HELP pqpsk_refused_requests_total Refused requests by reason; source_budget = refused unread because the source spent its budget of refusals.');
    out.push('# TYPE pqpsk_refused_requests_total counter');
    for (const [reason, n] of sorted(this.#refused)) out.push(`pqpsk_refused_requests_total{reason="${reason}"} ${n}`);
    out.push('# HELP pqpsk_registration_batch_size Registrations carried by one wg set.');
    out.push('# TYPE pqpsk_registration_batch_size histogram');
    this.#batch.render('pqpsk_registration_batch_size', '', out);
    out.push('# HELP pqpsk_peer_events_total Every peer-state event by kind.');
    out.push('# TYPE pqpsk_peer_events_total counter');
    for (const [kind, n] of sorted(this.#events)) out.push(`pqpsk_peer_events_total{kind="${kind}"} ${n}`);
    return `${out.join('\n')}\n`;
  }
}

function sorted<K extends string, V>(map: ReadonlyMap<K, V>): [K, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
