/**
 * The relay's first registrations against its later ones, as a client meets a relay that
 * has just started. The relay runs in a fresh process of its own (this file, run as a
 * child, with the installed command's V8 settings): the production service with its own KEMs — HQC-256 worker pool, noble's
 * ML-KEM-1024, both warmed before it opens — on 127.0.0.1 over an in-memory interface (the
 * `wg` side is not what is measured here). It prints its address, then one line per
 * registration with the encapsulation times the relay logged. The parent (the bench) is
 * the client: its own KEM work runs in its own process, so it warms nothing of the relay's.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_FLAGS } from '../../src/launch.js';
import { createClientKems } from '../../src/client/kems.js';
import { PqpskError } from '../../src/errors.js';
import type { KemName } from '../../src/kem/types.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { MemoryBookStore } from '../../test/fixtures/memory-book-store.js';
import { parseHostPort } from '../../src/server/listen.js';
import { startRelayService } from '../../src/server/service.js';
import { FakeWgControl } from '../../test/fixtures/fake-wg-control.js';
import { generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { medianOf } from './stats.js';
import { requestFor } from './relay-load.js';

/** Registrations counted as the relay's first ones (the goal is stated over these). */
export const FIRST_CALLS = 10;
const KEMS: readonly KemName[] = ['ML-KEM-1024', 'HQC-256'];

/** One KEM's encapsulation on the relay: mean over its first calls, median afterwards, ms. */
export interface FirstCallsFigure {
  readonly algorithm: KemName;
  readonly firstMeanMs: number;
  readonly steadyMedianMs: number;
  /** firstMeanMs ÷ steadyMedianMs. */
  readonly ratio: number;
}

/**
 * Start a relay in a fresh process, register FIRST_CALLS + `steadyCalls` times one after
 * another, read its encapsulation times; the steady state is the median of the last `steadyCalls`.
 */
export async function measureRelayFirstCalls(steadyCalls: number): Promise<FirstCallsFigure[]> {
  const parentKey = generatePrivateKey();
  const parent = publicKeyOf(parentKey);
  parentKey.fill(0);
  const child = spawn(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), publicKeyToText(parent)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const received: string[] = [];
  let waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  let exited = false;
  const early = (): PqpskError => new PqpskError('INTERNAL', 'relay first calls: the relay process exited early');
  lines.on('line', (line) => {
    if (waiting === undefined) received.push(line);
    else waiting.resolve(line);
    waiting = undefined;
  });
  child.once('exit', () => {
    exited = true;
    waiting?.reject(early());
  });
  const nextLine = (): Promise<string> => {
    const queued = received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (exited) return Promise.reject(early());
    return new Promise((resolve, reject) => (waiting = { resolve, reject }));
  };
  try {
    const { address } = JSON.parse(await nextLine()) as { address: string };
    const kems = createClientKems([...KEMS]);
    const times: Record<string, number>[] = [];
    for (let i = 0; i < FIRST_CALLS + steadyCalls; i++) {
      const pairs: { publicKey: Uint8Array; secretKey: Uint8Array }[] = [];
      for (const kem of kems) pairs.push(await kem.keygen());
      const ephemeralKey = generatePrivateKey();
      const ephemeral = publicKeyOf(ephemeralKey);
      ephemeralKey.fill(0);
      await callRegisterPeer(address, requestFor(parent, ephemeral, KEMS.map((name, k) => ({ name, publicKey: pairs[k]!.publicKey }))), { deadline: Date.now() + 20_000 });
      for (const p of pairs) p.secretKey.fill(0);
      times.push((JSON.parse(await nextLine()) as { encaps: Record<string, number> }).encaps);
    }
    return KEMS.map((algorithm) => {
      const all = times.map((t) => t[algorithm] ?? Number.NaN);
      const firstMeanMs = all.slice(0, FIRST_CALLS).reduce((a, b) => a + b, 0) / FIRST_CALLS;
      const steadyMedianMs = medianOf(all.slice(FIRST_CALLS));
      return { algorithm, firstMeanMs, steadyMedianMs, ratio: firstMeanMs / steadyMedianMs };
    });
  } finally {
    child.kill('SIGTERM');
  }
}

/** The child: the relay service, its address, then one line per registration. */
async function main(parentText: string): Promise<void> {
  const wg = new FakeWgControl();
  const iface = 'pqbench0';
  wg.addInterface(iface, { privateKey: generatePrivateKey() });
  await wg.set(iface, { peers: [{ publicKey: parentText, allowedIps: ['127.0.0.1/32'] }] });
  const service = await startRelayService({
    iface,
    listen: parseHostPort('listen', '127.0.0.1:0'),
    wg,
    store: new MemoryBookStore(),
    rateLimit: null,
    hqcWorkers: 2,
    logger: {
      log: (_level, record) => {
        if (record.event === 'registration' && record['result'] === 'ok') process.stdout.write(`${JSON.stringify({ encaps: record['encaps_ms'] })}\n`);
      },
    },
  });
  process.stdout.write(`${JSON.stringify({ address: service.address })}\n`);
  process.once('SIGTERM', () => void service.stop().then(() => process.exit(0)));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv[2] ?? '');
