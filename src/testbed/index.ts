/**
 * The test bed's public face, for tests, `pqpsk demo` and the benchmark: build a
 * topology, act inside its namespaces, run pqpsk on it, tear it down.
 */
export { Bed, type PingOptions, type TeardownReport } from './bed.js';
export { BedProcess, type ProcessExit, type RunOptions, type RunResult, type SpawnOptions } from './exec.js';
export { buildBareInterfaces, type BareInterfaces } from './bare.js';
export { liveBedCount } from './cleanup.js';
export { NAMESPACE_PREFIX, UAPI_DIR, newSuffix, uapiSocket } from './names.js';
export { BED_TOOLS, bedPrerequisites } from './prereq.js';
export {
  DEFAULT_MTU,
  RELAY_PORT,
  buildMultihop,
  addTunnelClient,
  buildSingleHop,
  type BedInterface,
  type BedRelay,
  type Multihop,
  type MultihopOptions,
  type MultihopTopology,
  type SingleHop,
  type SingleHopOptions,
  type SingleHopTopology,
} from './topologies.js';
export { writeParentConfig } from './parent-config.js';
export { SELF_HOSTED_CLIENT, SELF_HOSTED_SERVER, buildWgQuickPair, type WgQuickEnd, type WgQuickOptions, type WgQuickPair } from './wg-quick.js';
export { BED_RELAY_USER, MAIN_JS, PQPSK_ARGV, reachableByRelay, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer, type JsonHop } from './pqpsk.js';
