/**
 * The real relay (src/server/relay.ts) with two settings `pqpsk server` does not offer,
 * run inside a relay namespace by the end-to-end tests:
 * `node test-relay.js <wg-interface> <ip:port> <state dir> [parent-tunnel-only] [ttl=<ms>]`.
 * - `parent-tunnel-only`: like a relay serving only Mullvad's own clients, it accepts a
 *   registration only from the parent's own tunnel: a request naming a live ephemeral key
 *   as its parent, or travelling in an ephemeral peer's tunnel, gets PERMISSION_DENIED.
 * - `ttl=<ms>`: an idle TTL shorter than the command line allows, so a test can watch an
 *   ephemeral peer expire in seconds.
 * Prints `listening` once bound; stops on SIGTERM.
 */
import { PqpskError } from '../../src/errors.js';
import { createClientKems } from '../../src/client/kems.js';
import type { KemName } from '../../src/kem/types.js';
import { routeOwner } from '../../src/protocol/cidr.js';
import { MAX_REQUEST_BYTES, validateRegisterRequest } from '../../src/protocol/request.js';
import { startRpcServer } from '../../src/rpc/server.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { Relay } from '../../src/server/relay.js';
import { publicKeyToText } from '../../src/wg/keys.js';
import { BedWgControl } from '../../src/testbed/wg-dump.js';

const [iface, address, stateDir, ...flags] = process.argv.slice(2);
if (iface === undefined || address === undefined || stateDir === undefined) {
  process.stderr.write('usage: test-relay <wg-interface> <ip:port> <state dir> [parent-tunnel-only] [ttl=<ms>]\n');
  process.exit(2);
}
const parentTunnelOnly = flags.includes('parent-tunnel-only');
const ttl = flags.find((f) => f.startsWith('ttl='));
const wg = new BedWgControl();
const kems = new Map(createClientKems(['ML-KEM-1024', 'HQC-256']).map((k) => [k.name, k]));
const relay = await Relay.open({
  iface,
  wg,
  store: new FileBookStore(stateDir, iface),
  kems: (name: KemName) => kems.get(name)!,
  ...(ttl === undefined ? {} : { ephemeralTtlMs: Number(ttl.slice(4)) }),
});
relay.startWatcher();
const server = await startRpcServer(
  address,
  async (request, context) => {
    if (parentTunnelOnly) {
      const claimed = publicKeyToText(validateRegisterRequest(request).parentKey);
      const tunnel = routeOwner((await wg.show(iface)).peers, context.peerAddress);
      if (relay.book.ephemerals.some((e) => e.ephemeral === claimed) || tunnel !== claimed) {
        throw new PqpskError('PERMISSION_DENIED', 'parent key does not match the tunnel of the request');
      }
    }
    return relay.register(request, context);
  },
  { maxRequestBytes: MAX_REQUEST_BYTES },
);
process.stdout.write(`listening ${address}\n`);
process.once('SIGTERM', () => {
  server.forceShutdown();
  void relay.close().finally(() => process.exit(0));
});
