/**
 * A test client for the relay's end-to-end tests, run inside the client's network
 * namespace: `node dist/test/server/test-client.js --service ip:port --parent <base64 key>
 * [--kems ML-KEM-1024,HQC-256]`. It makes one exchange (fresh X25519 + KEM keys,
 * RegisterPeerV1 through the tunnel, decapsulation, PSK) and prints one JSON line:
 *   {"ok":true,"ephemeralPublicKey":…,"pskFingerprint":…,"algorithms":[…]}
 *   {"ok":false,"code":…,"message":…}   (exit 1)
 * The two secrets go back to the test only through file descriptor 3, which the test
 * opens as a pipe: 32 bytes of ephemeral private key, then 32 bytes of PSK. Never argv,
 * never stdout, never a file.
 */
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClientKems } from '../../src/client/kems.js';
import { exchange } from '../../src/client/exchange.js';
import { isPqpskError } from '../../src/errors.js';
import { publicKeyFromText } from '../../src/wg/keys.js';

const SECRET_FD = 3;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      service: { type: 'string' },
      parent: { type: 'string' },
      kems: { type: 'string', default: 'ML-KEM-1024,HQC-256' },
    },
  });
  if (values.service === undefined || values.parent === undefined) {
    print({ ok: false, code: 'INVALID_INPUT', message: 'usage: --service ip:port --parent <base64 public key>' });
    return 2;
  }
  // Refuse to run without the pipe: the secrets must have somewhere safe to go.
  fstatSync(SECRET_FD);
  const parent = publicKeyFromText('--parent', values.parent);
  const kems = createClientKems(values.kems.split(','));
  try {
    const result = await exchange(parent, values.service, 20_000, { kems });
    try {
      const secrets = new Uint8Array(64);
      secrets.set(result.privateKey(), 0);
      secrets.set(result.psk.bytes(), 32);
      try {
        writeAll(secrets);
      } finally {
        secrets.fill(0);
      }
      print({ ok: true, ephemeralPublicKey: result.publicKey, pskFingerprint: result.psk.fingerprint(), algorithms: result.algorithms });
    } finally {
      result.wipe();
    }
    return 0;
  } catch (err) {
    print({ ok: false, code: isPqpskError(err) ? err.code : 'ERROR', message: isPqpskError(err) ? err.message : String(err) });
    return 1;
  } finally {
    closeSync(SECRET_FD);
  }
}

function writeAll(bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(SECRET_FD, bytes, off, bytes.length - off);
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

process.exitCode = await main();
