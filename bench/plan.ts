/**
 * How much each section of `npm run bench` measures: the full run, and the `--quick`
 * smoke run (every code path that needs no bed, in seconds; figures not meaningful). A
 * new row or section adds its sizes here, in both plans.
 */

/** Iterations, rows and sizes for one run. */
export interface Plan {
  readonly kemIterations: { readonly 'ML-KEM-1024': number; readonly 'HQC-256': number; readonly 'Classic-McEliece-460896f-round3': number };
  /** Clients of the relay row whose requests offer Classic McEliece + ML-KEM-1024 (0: skip it). */
  readonly mcelieceClients: number;
  /** Counted `pqpsk negotiate` runs on the real bed (after one warm-up). */
  readonly negotiations: number;
  /** Relay throughput rows on the in-memory `wg`. */
  readonly rows: readonly { readonly workers: number; readonly clients: number }[];
  /** Client counts of the relay throughput rows on wireguard-go (2 workers). */
  readonly realClients: readonly number[];
  readonly relaySeconds: number;
  readonly relayWarmup: number;
  /** Encapsulations timed for the KEM-work figure beside each throughput row. */
  readonly kemCpuIterations: { readonly mlKem: number; readonly hqc: number };
  /** Clients of the profiled relay runs (fake `wg`, then wireguard-go; 0: no profile). */
  readonly profileClients: number;
  /** Live ephemerals the memory figure loads from the book, and parents it then registers. */
  readonly seedLive: number;
  readonly freshParents: number;
  /** Registrations for the memory figure on wireguard-go (0: skip it). */
  readonly realPeers: number;
  /** Spawns of each command timed by the CLI start-up section. */
  readonly startupRuns: number;
  /** Peers on the stand-in interface, and seconds per phase, of the flood section. */
  readonly floodPeers: number;
  readonly floodSeconds: number;
  /** Counted rounds of Mullvad's client beside ours on the real bed (after one warm-up round). */
  readonly mullvadRuns: number;
  /** Fresh relay processes, and fresh one-shot client processes, of the cold-start section. */
  readonly coldRuns: number;
  /** Registrations after a fresh relay's first ten whose median is its steady state. */
  readonly coldSteadyCalls: number;
  /** Clients of the relay-restart herd, the window over which they notice, and how long it may take at most. */
  readonly herdClients: number;
  readonly herdSpreadMs: number;
  readonly herdHorizonMs: number;
}

export const FULL: Plan = {
  kemIterations: { 'ML-KEM-1024': 200, 'HQC-256': 30, 'Classic-McEliece-460896f-round3': 10 },
  // 32 calls in flight (the relay admits up to --max-inflight, 64 by default).
  mcelieceClients: 32,
  negotiations: 5,
  // Two workers = one per core (the relay's default).
  rows: [
    { workers: 2, clients: 1 },
    { workers: 2, clients: 8 },
    { workers: 2, clients: 64 },
  ],
  realClients: [1, 8, 64],
  relaySeconds: 3,
  relayWarmup: 0.7,
  kemCpuIterations: { mlKem: 200, hqc: 100 },
  profileClients: 8,
  seedLive: 10_000,
  freshParents: 20,
  realPeers: 1_000,
  startupRuns: 10,
  floodPeers: 10_000,
  floodSeconds: 10,
  mullvadRuns: 5,
  coldRuns: 3,
  coldSteadyCalls: 20,
  herdClients: 10_000,
  herdSpreadMs: 5_000,
  herdHorizonMs: 180_000,
};

export const QUICK: Plan = {
  kemIterations: { 'ML-KEM-1024': 20, 'HQC-256': 4, 'Classic-McEliece-460896f-round3': 1 },
  mcelieceClients: 2,
  negotiations: 0,
  rows: [{ workers: 1, clients: 2 }],
  realClients: [],
  relaySeconds: 1,
  relayWarmup: 0.3,
  kemCpuIterations: { mlKem: 10, hqc: 5 },
  profileClients: 2,
  seedLive: 300,
  freshParents: 5,
  realPeers: 0,
  startupRuns: 2,
  floodPeers: 200,
  floodSeconds: 2,
  mullvadRuns: 0,
  coldRuns: 1,
  coldSteadyCalls: 5,
  herdClients: 50,
  herdSpreadMs: 500,
  herdHorizonMs: 60_000,
};
