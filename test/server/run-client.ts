/**
 * Runs test-client.ts inside a network namespace with file descriptor 3 as a pipe, and
 * hands its secrets (ephemeral private key, PSK) to the e2e test in memory. Secrets never
 * pass through argv, stdout or a file; the caller wipes them.
 */
import { spawn } from 'node:child_process';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';

const CLIENT = fileURLToPath(new URL('./test-client.js', import.meta.url));

/** What the test client reported. */
export type ClientOutcome =
  | { readonly ok: true; readonly ephemeralPublicKey: string; readonly pskFingerprint: string; readonly algorithms: readonly string[] }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** The secrets of a successful exchange; prints as `<secret>`. */
export class ClientSecrets {
  constructor(
    readonly privateKey: Uint8Array,
    readonly psk: Uint8Array,
  ) {}
  wipe(): void {
    this.privateKey.fill(0);
    this.psk.fill(0);
  }
  toJSON(): string {
    return '<secret>';
  }
  [inspect.custom](): string {
    return '<secret>';
  }
}

/** Run one exchange from namespace `ns` as `parent` against `service`. */
export async function runTestClient(
  ns: string,
  service: string,
  parent: string,
  kems = 'ML-KEM-1024,HQC-256',
): Promise<{ outcome: ClientOutcome; secrets: ClientSecrets | null; stderr: string }> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLIENT, '--service', service, '--parent', parent, '--kems', kems], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const [out, err, secretChunks] = await Promise.all([
    collectBytes(child.stdout),
    collectBytes(child.stderr),
    collectBytes(child.stdio[3] as Readable),
    new Promise<void>((resolve) => child.on('close', () => resolve())),
  ]);
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let outcome: ClientOutcome;
  try {
    outcome = JSON.parse(line) as ClientOutcome;
  } catch {
    outcome = { ok: false, code: 'NO_OUTPUT', message: `test client printed no JSON (stderr: ${stderr.slice(-300)})` };
  }
  const joined = Buffer.concat(secretChunks);
  for (const c of secretChunks) c.fill(0);
  try {
    if (!outcome.ok) return { outcome, secrets: null, stderr };
    if (joined.length !== 64) throw new Error(`test client: expected 64 secret bytes on fd 3, got ${joined.length}`);
    return { outcome, secrets: new ClientSecrets(Uint8Array.from(joined.subarray(0, 32)), Uint8Array.from(joined.subarray(32))), stderr };
  } finally {
    joined.fill(0);
  }
}

function collectBytes(stream: Readable | null): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    if (stream === null) {
      resolve(chunks);
      return;
    }
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(chunks));
    stream.on('error', () => resolve(chunks));
  });
}
