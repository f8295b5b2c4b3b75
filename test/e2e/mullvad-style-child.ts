/**
 * Runs inside the client namespace for mullvad-style.test.ts: one negotiation by the
 * independent Mullvad-style client, then one JSON line on stdout (a pipe to the test
 * process, nothing else reads it) with the new private key, its public key and the PSK,
 * which the test applies to the interface. Arguments: service address, parent public key
 * (base64), algorithm names (comma-separated).
 */
const [address, parent, names] = process.argv.slice(2);
if (address === undefined || parent === undefined || names === undefined) {
  process.stderr.write('usage: mullvad-style-child ADDRESS PARENT_PUBLIC_KEY NAMES\n');
  process.exit(2);
}
// Loaded after the arguments are read: a static import graph of grpc-js, noble and the
// native McEliece module now and then stalled this process before its first statement on
// the loaded test machine; loading it dynamically has not.
const { negotiateLikeMullvad } = await import('../fixtures/mullvad-style-client.js');
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const result = await negotiateLikeMullvad(address, new Uint8Array(Buffer.from(parent, 'base64')), names.split(','), 60_000);
process.stdout.write(`${JSON.stringify({ privateKey: b64(result.ephemeralPrivateKey), publicKey: b64(result.ephemeralPublicKey), psk: b64(result.psk) })}\n`);
result.psk.fill(0);
result.ephemeralPrivateKey.fill(0);
