/**
 * A relay config service that misbehaves on purpose, run inside a relay namespace by the
 * end-to-end tests: `node misbehaving-relay.js <mode> <ip:port> <wg-interface>`.
 * It registers each ephemeral peer on the interface with its own PSK (as a real relay
 * would) but never moves allowed-ips. Prints `listening` once bound; stops on SIGTERM.
 */
import { RealWgControl } from '../../src/wg/real.js';
import { startTestRelay, type RelayMode } from './helpers.js';

const [mode, address, iface] = process.argv.slice(2);
const modes: RelayMode[] = ['good', 'wrong-length', 'wrong-ciphertext', 'hqc-tampered'];
if (!modes.includes(mode as RelayMode) || address === undefined || iface === undefined) {
  process.stderr.write('usage: misbehaving-relay <good|wrong-length|wrong-ciphertext|hqc-tampered> <ip:port> <wg-interface>\n');
  process.exit(2);
}
const relay = await startTestRelay(mode as RelayMode, { address, wg: { control: new RealWgControl(), iface } });
process.stdout.write(`listening ${relay.address} ${mode}\n`);
process.once('SIGTERM', () => {
  relay.close();
  process.exit(0);
});
