/**
 * The third column of the HQC-256 comparison: PQClean's HQC-256 clean C (the pqclean
 * package's copy, reference multiply and all) compiled natively at -O3 by the machine's C
 * compiler, when there is one. It shows how far each WebAssembly engine is from native
 * code of the same algorithm on this machine. The driver is native-hqc.c beside this file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KemOperation, OperationTiming } from './kem-timing.js';

const run = promisify(execFile);

/** Timings of native HQC-256, or the one-line reason there are none. */
export type NativeHqc =
  | { readonly measured: false; readonly reason: string }
  | { readonly measured: true; readonly compiler: string; readonly timings: readonly OperationTiming[] };

/** native-hqc.c, from bench/harness or dist/bench/harness. */
function driverPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/bench/') ? join(here, '../../../bench/harness/native-hqc.c') : join(here, 'native-hqc.c');
}

async function findCompiler(): Promise<string | undefined> {
  for (const cc of ['clang', 'cc', 'gcc']) {
    try {
      await run(cc, ['--version']);
      return cc;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Compile and run `iterations` rounds of native HQC-256, or say why not. */
export async function measureNativeHqc(iterations: number): Promise<NativeHqc> {
  const compiler = await findCompiler();
  if (compiler === undefined) return { measured: false, reason: 'no C compiler (cc, clang, gcc) on this machine' };
  let pqclean: string;
  try {
    pqclean = join(dirname(createRequire(import.meta.url).resolve('pqclean/package.json')), 'deps', 'PQClean');
  } catch {
    return { measured: false, reason: 'the pqclean package (which carries the C sources) is not installed' };
  }
  const clean = join(pqclean, 'crypto_kem', 'hqc-256', 'clean');
  const common = join(pqclean, 'common');
  const sources = ['code', 'fft', 'gf', 'gf2x', 'hqc', 'kem', 'parsing', 'reed_muller', 'reed_solomon', 'shake_ds', 'shake_prng', 'vector'];
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-native-hqc-'));
  try {
    const binary = join(dir, 'hqc-256');
    await run(compiler, [
      '-O3', '-std=c99', `-I${clean}`, `-I${common}`, '-o', binary, driverPath(),
      ...sources.map((s) => join(clean, `${s}.c`)), join(common, 'fips202.c'), join(common, 'randombytes.c'),
    ]);
    const { stdout } = await run(binary, [String(iterations)]);
    const timings = stdout.trim().split('\n').map((line): OperationTiming => {
      const [operation, median, p90] = line.split(' ');
      return { kem: 'HQC-256 native -O3', operation: operation as KemOperation, iterations, medianMs: Number(median), p90Ms: Number(p90) };
    });
    return { measured: true, compiler, timings };
  } catch (err) {
    return { measured: false, reason: `building or running native HQC-256 failed: ${err instanceof Error ? err.message.split('\n')[0] : 'unknown error'}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
