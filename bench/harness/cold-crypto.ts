/**
 * The client's crypto as `pqpsk negotiate` meets it: in a fresh process, once. The KEM
 * table's medians are warm (JIT-compiled JavaScript, optimised WebAssembly); a negotiation
 * runs each operation exactly once in a new process, so its keygen and decapsulation pay
 * for compilation. This script does what the client's exchange does — X25519 key, one
 * keygen per KEM, one decapsulation per KEM — through the client's own KEM constructor,
 * and prints the times as one JSON line, then the same steps warm (the median of
 * repetitions in the same process); measureColdClientCrypto runs it as a child.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_FLAGS } from '../../src/launch.js';
import { createClientKems, DEFAULT_CLIENT_KEMS } from '../../src/client/kems.js';
import { PqpskError } from '../../src/errors.js';
import { generatePrivateKey, publicKeyOf } from '../../src/wg/keys.js';
import { medianOf } from './stats.js';

/** First-call times in a fresh process, and the same steps once warm, ms. */
export interface ColdClientCrypto {
  /** X25519 key and one keygen per KEM: what the client's `keygen` step does. */
  readonly keygenMs: number;
  /** One decapsulation per KEM: the client's `decaps` step. */
  readonly decapsMs: number;
  /** The keygen step again, median of WARM_ROUNDS more in the same process. */
  readonly warmKeygenMs: number;
  /** The decaps step again, likewise. */
  readonly warmDecapsMs: number;
}

/** Repetitions after the cold pass whose median is the warm figure. */
const WARM_ROUNDS = 20;

/** Run this file in a fresh node process and read its answer. */
export function measureColdClientCrypto(): Promise<ColdClientCrypto> {
  return new Promise((resolve, reject) => {
    // With the installed command's V8 settings: its young generation is smaller, which the cold pass feels.
    execFile(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url)], { timeout: 60_000 }, (err, stdout) => {
      if (err !== null) {
        reject(new PqpskError('INTERNAL', 'cold client crypto: the child process failed'));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim()) as ColdClientCrypto);
      } catch {
        reject(new PqpskError('INTERNAL', 'cold client crypto: unreadable answer'));
      }
    });
  });
}

async function main(): Promise<void> {
  // Built before the clock starts, as `pqpsk negotiate` builds them before negotiating.
  const kems = createClientKems(DEFAULT_CLIENT_KEMS.split(','));
  const once = async (): Promise<{ keygenMs: number; decapsMs: number }> => {
    const t0 = performance.now();
    const wgKey = generatePrivateKey();
    publicKeyOf(wgKey);
    const pairs = [];
    for (const kem of kems) pairs.push(await kem.keygen());
    const t1 = performance.now();
    const cts = [];
    for (const [i, kem] of kems.entries()) {
      const { ciphertext, sharedSecret } = await kem.encapsulate(pairs[i]!.publicKey);
      sharedSecret.fill(0);
      cts.push(ciphertext);
    }
    const t2 = performance.now();
    for (const [i, kem] of kems.entries()) (await kem.decapsulate(cts[i]!, pairs[i]!.secretKey)).fill(0);
    const t3 = performance.now();
    wgKey.fill(0);
    for (const p of pairs) p.secretKey.fill(0);
    return { keygenMs: t1 - t0, decapsMs: t3 - t2 };
  };
  const cold = await once();
  const warm = [];
  for (let i = 0; i < WARM_ROUNDS; i++) warm.push(await once());
  const answer: ColdClientCrypto = {
    ...cold,
    warmKeygenMs: medianOf(warm.map((w) => w.keygenMs)),
    warmDecapsMs: medianOf(warm.map((w) => w.decapsMs)),
  };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
