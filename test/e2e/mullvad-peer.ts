/**
 * Mullvad's own client for wg-quick users (`mullvad-upgrade-tunnel`, Go, one shot) as an
 * independent peer of `pqpsk server` on the real bed. The binary is not part of the
 * repository: it lies in the `shared/peers/` folder beside the clone, checked against the
 * digest of the build we know. A clone without it skips these tests with one line; under
 * CI=true a missing or different binary fails them instead, so CI never passes by skipping.
 */
import type { Bed, RunResult } from '../../src/testbed/index.js';
import { MULLVAD_CLIENT, mullvadClientProblem } from '../fixtures/mullvad-client.js';

/** The `skip` option for a test that needs the binary (on top of the bed's own gate): false, or the one-line reason. */
export function mullvadSkip(): string | false {
  if (process.env.CI === 'true') return false;
  const problem = mullvadClientProblem();
  return problem === null ? false : `${problem} (CI=true makes this a failure)`;
}

/** First line of such a test: under CI=true a missing or different binary is a failure that says why. */
export function requireMullvadClient(): void {
  const problem = mullvadClientProblem();
  if (problem !== null) throw new Error(`Mullvad's client is required here: ${problem}`);
}

/**
 * Runs `mullvad-upgrade-tunnel -wg-interface <iface> -kem <kem>` inside `ns`, killed after
 * `timeoutMs`. It always dials 10.64.0.1:1337 through the namespace's routes, takes the
 * parent key from the interface and refuses an interface whose peer already has a PSK.
 */
export function runMullvadClient(bed: Bed, ns: string, iface: string, kem: 'mlkem' | 'cme-mlkem', timeoutMs = 60_000): Promise<RunResult> {
  return bed.runIn(ns, [MULLVAD_CLIENT, '-wg-interface', iface, '-kem', kem], { timeoutMs });
}

/**
 * Like runMullvadClient, started the moment 10.64.0.1:1337 accepts a TCP connection, as a
 * script that starts the relay and then upgrades would: one shell inside `ns` tries to
 * connect every 5 ms and then becomes the client, so no round trip to this process lies
 * between the port opening and the client's call.
 */
export function runMullvadClientWhenPortAccepts(bed: Bed, ns: string, iface: string, timeoutMs = 60_000): Promise<RunResult> {
  const script = 'until (exec 3<>/dev/tcp/10.64.0.1/1337) 2>/dev/null; do sleep 0.005; done; exec "$0" -wg-interface "$1" -kem mlkem';
  return bed.runIn(ns, ['bash', '-c', script, MULLVAD_CLIENT, iface], { timeoutMs });
}
