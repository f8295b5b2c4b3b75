/**
 * The actors of the relay-under-attack test, each run inside its own network namespace
 * (`node dist/test/e2e/flood-actor.js <role> …`), printing one JSON line when done:
 * - legit: `--service S --parent P --count N` — N registrations one after another
 *   (ML-KEM-1024 + HQC-256), their latencies and any failure codes;
 * - attack: `--service S --parent P --seconds T --streams K` — RegisterPeerV1 requests
 *   claiming someone else's parent, back to back on every connection the relay lets it
 *   keep, plus K header-only streams that never send a message;
 * - probe: `--url U --seconds T` — GET /healthz every 100 ms, the slowest answer.
 * Secrets: the legit client's PSKs and keys stay in this process and are wiped.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClientKems } from '../../src/client/kems.js';
import { exchange } from '../../src/client/exchange.js';
import { createMlKem1024 } from '../../src/kem/ml-kem-1024.js';
import { isPqpskError } from '../../src/errors.js';
import { REGISTER_PEER_PATH, registerPeerMethod } from '../../src/rpc/proto.js';
import { publicKeyFromText } from '../../src/wg/keys.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    service: { type: 'string', default: '' },
    parent: { type: 'string', default: '' },
    count: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    streams: { type: 'string', default: '20000' },
    url: { type: 'string', default: '' },
    flood: { type: 'string', default: '1' },
  },
});

async function legit(): Promise<unknown> {
  const parent = publicKeyFromText('--parent', values.parent);
  const latencies: number[] = [];
  const failures: string[] = [];
  const kems = createClientKems(['ML-KEM-1024', 'HQC-256']);
  for (let i = 0; i < Number(values.count); i++) {
    const started = performance.now();
    try {
      const result = await exchange(parent, values.service, 60_000, { kems });
      latencies.push(performance.now() - started);
      result.wipe();
    } catch (err) {
      failures.push(isPqpskError(err) ? `${err.code}: ${err.message}` : String(err));
    }
  }
  return { latencies, failures };
}

/** One gRPC message frame: uncompressed flag, 4-byte length, the message. */
function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

async function attack(): Promise<unknown> {
  const parent = publicKeyFromText('--parent', values.parent);
  const mlkem = await createMlKem1024().keygen();
  mlkem.secretKey.fill(0);
  const body = frame(
    registerPeerMethod().requestSerialize({
      wg_parent_pubkey: parent,
      wg_ephemeral_peer_pubkey: randomBytes(32),
      post_quantum: { kem_pubkeys: [{ algorithm_name: 'ML-KEM-1024', key_data: mlkem.publicKey }] },
    }),
  );
  const end = Date.now() + Number(values.seconds) * 1000;
  const statuses = new Map<string, number>();
  const count = (what: string): void => void statuses.set(what, (statuses.get(what) ?? 0) + 1);
  const headers = { ':method': 'POST', ':path': REGISTER_PEER_PATH, 'content-type': 'application/grpc', te: 'trailers' };
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = (): http2.ClientHttp2Session => {
    const s = http2.connect(`http://${values.service}`);
    s.on('error', () => count('session-error'));
    sessions.push(s);
    return s;
  };

  // Bogus requests, back to back: 4 connections × 8 calls in flight.
  const flood = async (session: http2.ClientHttp2Session): Promise<void> => {
    while (Date.now() < end) {
      if (session.closed || session.destroyed) session = connect();
      await new Promise<void>((resolve) => {
        const stream = session.request(headers);
        stream.on('trailers', (t) => count(`grpc-status ${String(t['grpc-status'])}`));
        stream.on('response', (h) => {
          if (h['grpc-status'] !== undefined) count(`grpc-status ${String(h['grpc-status'])}`);
        });
        stream.on('error', () => count('stream-error'));
        stream.on('close', () => resolve());
        stream.resume();
        stream.end(body);
      });
    }
  };
  const floods: Promise<void>[] = [];
  for (let c = 0; c < (values.flood === '0' ? 0 : 4); c++) {
    const s = connect();
    for (let i = 0; i < 8; i++) floods.push(flood(s));
  }

  // Idle streams: headers and nothing more, spread over as many connections as we get.
  // A turn of the event loop every hundred streams lets the flood above keep going and
  // lets a connection the relay closed be noticed (its remaining streams are not opened).
  let opened = 0;
  const wanted = Number(values.streams);
  for (let c = 0; c < 40 && opened < wanted; c++) {
    const s = connect();
    for (let i = 0; i < Math.ceil(wanted / 40) && opened < wanted; i++) {
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      if (s.destroyed || s.closed) break;
      try {
        const stream = s.request(headers, { endStream: false });
        stream.on('error', () => undefined);
        opened++;
      } catch {
        count('idle-refused');
        break;
      }
    }
  }
  await Promise.all(floods);
  while (Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  for (const s of sessions) s.destroy();
  return { statuses: Object.fromEntries(statuses), idleStreamsAttempted: opened };
}

async function probe(): Promise<unknown> {
  const end = Date.now() + Number(values.seconds) * 1000;
  let worstMs = 0;
  let answered = 0;
  const failures: string[] = [];
  while (Date.now() < end) {
    const started = performance.now();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get(values.url, { agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
      if (status !== 200) failures.push(`status ${status}`);
      answered++;
    } catch (err) {
      failures.push(String(err));
    }
    worstMs = Math.max(worstMs, performance.now() - started);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { answered, worstMs, failures };
}

const roles: Record<string, () => Promise<unknown>> = { legit, attack, probe };
const role = roles[positionals[0] ?? ''];
if (role === undefined) {
  process.stdout.write(`${JSON.stringify({ error: 'role: legit | attack | probe' })}\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(`${JSON.stringify(await role())}\n`);
}
