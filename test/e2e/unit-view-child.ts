/**
 * Child for test/e2e/units.test.ts, run inside a unit's emulated file-system view: does
 * what both units' processes do with a key — `wg set` of a private key and of a peer's
 * PSK through the secret channel — on a bed interface, and with `lock` also what the
 * client's does first, take and let go of the interface's lock; it prints one JSON line
 * saying whether it worked and, if not, the error's code and message.
 */
import { InterfaceLock } from '../../src/client/lock.js';
import { isPqpskError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/wg/keys.js';
import { RealWgControl } from '../../src/wg/real.js';

const [iface, peer, lock] = process.argv.slice(2);
if (iface === undefined || peer === undefined) throw new Error('usage: unit-view-child IFACE PEER_PUBLIC_KEY [lock]');
const privateKey = generatePrivateKey();
const psk = generatePrivateKey();
try {
  if (lock === 'lock') (await InterfaceLock.acquire([iface], () => ({ pid: process.pid, mode: 'watch' }))).release();
  await new RealWgControl().set(iface, { privateKey, peers: [{ publicKey: peer, presharedKey: psk, allowedIps: [] }] });
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: isPqpskError(err) ? err.code : 'not a PqpskError', message: err instanceof Error ? err.message : String(err) })}\n`);
} finally {
  privateKey.fill(0);
  psk.fill(0);
}
