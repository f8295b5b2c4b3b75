/**
 * Runs inside the client namespace for relay-restart.test.ts: makes its keys, prints
 * `polling`, then tries a TCP connection to the relay's service port every few
 * milliseconds and, the moment one is accepted, makes ONE registration call as the
 * Mullvad-style client does (no retry). Then one JSON line on stdout (a pipe to the test
 * process): `{"ok":true,"acceptedAt":…,"publicKey":…,"psk":…}` or
 * `{"ok":false,"acceptedAt":…,"code":…,"details":…}`. Arguments: service address
 * (ip:port), parent public key (base64), algorithm names (comma-separated).
 */
import { connect } from 'node:net';

const [address, parent, names] = process.argv.slice(2);
if (address === undefined || parent === undefined || names === undefined) {
  process.stderr.write('usage: startup-race-child ADDRESS PARENT_PUBLIC_KEY NAMES\n');
  process.exit(2);
}
const host = address.slice(0, address.lastIndexOf(':'));
const port = Number(address.slice(address.lastIndexOf(':') + 1));
const { negotiateLikeMullvad } = await import('../fixtures/mullvad-style-client.js');

/** Whether a TCP connection to the service is accepted now (closed at once). */
function accepts(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

let acceptedAt = 0;
const waitForPort = async (): Promise<void> => {
  process.stdout.write('polling\n');
  const end = Date.now() + 60_000;
  while (!(await accepts())) {
    if (Date.now() > end) throw new Error('the service port never accepted');
    await new Promise((r) => setTimeout(r, 5));
  }
  acceptedAt = Date.now();
};
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
try {
  const result = await negotiateLikeMullvad(address, new Uint8Array(Buffer.from(parent, 'base64')), names.split(','), 30_000, waitForPort);
  process.stdout.write(`${JSON.stringify({ ok: true, acceptedAt, publicKey: b64(result.ephemeralPublicKey), psk: b64(result.psk) })}\n`);
  result.psk.fill(0);
  result.ephemeralPrivateKey.fill(0);
} catch (err) {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  process.stdout.write(`${JSON.stringify({ ok: false, acceptedAt, code: e.code ?? null, details: e.details ?? String(e.message) })}\n`);
}
