/**
 * Section 5: how long the command line takes to start, as an operator meets it: `pqpsk
 * --help` as a fresh process, spawn to exit, beside a bare `node -e 0` on the same
 * machine (the floor no change to pqpsk can go under), and `pqpsk negotiate` on an
 * interface that does not exist: every module negotiate needs is loaded, then it stops
 * at its first `wg` call (exit code 2). The start-up figure of a real negotiation, the
 * process minus its own negotiation, needs the bed and is in section 2. Measured with
 * child processes from here, so the bench needs nothing but node.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { PqpskError } from '../../src/errors.js';
import { PQPSK_ARGV } from '../../src/testbed/index.js';
import { medianOf, f0 } from '../harness/stats.js';
import { statusOf, type BenchSection, type NotMeasured } from '../section.js';

/** Wall times of one command over the plan's runs (after one untimed run), ms. */
export interface SpawnTiming {
  readonly command: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** The start-up rows of this run. */
export type StartupSection = NotMeasured | { readonly measured: true; readonly rows: readonly SpawnTiming[] };

/** The goal this section is held against. */
export const STARTUP_LIMITS = Object.freeze({ helpMs: 250 });

const HELP_TARGET = `pqpsk --help wall ≤ ${STARTUP_LIMITS.helpMs} ms`;
const NEGOTIATE_LOAD = 'pqpsk negotiate, no such interface';

/** Spawn `argv` (no shell, output discarded), resolve with its wall time; rejects on another exit code than `expect`. */
function timeSpawn(argv: readonly string[], expect: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    child.once('error', () => reject(new PqpskError('INTERNAL', `start-up bench: could not start ${argv[0]}`)));
    child.once('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === expect) resolve(ms);
      else reject(new PqpskError('INTERNAL', `start-up bench: \`${argv.slice(1).join(' ')}\` exited with ${String(code)}`));
    });
  });
}

async function timeCommand(label: string, argv: readonly string[], runs: number, expect = 0): Promise<SpawnTiming> {
  await timeSpawn(argv, expect);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeSpawn(argv, expect));
  return { command: label, runs, medianMs: medianOf(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples) };
}

export const startupSection: BenchSection<'startup'> = {
  key: 'startup',
  heading: '5. CLI start-up (a fresh process, spawn to exit; one untimed run first)',
  async measure(ctx) {
    ctx.say(`CLI start-up (${ctx.plan.startupRuns} runs of each command)`);
    const rows = [
      await timeCommand('node -e 0', [process.execPath, '-e', '0'], ctx.plan.startupRuns),
      await timeCommand('pqpsk --help', [...PQPSK_ARGV, '--help'], ctx.plan.startupRuns),
      await timeCommand(NEGOTIATE_LOAD, [...PQPSK_ARGV, 'negotiate', '--interface', 'pqnosuch0', '--max-attempts', '1'], ctx.plan.startupRuns, 2),
    ];
    return { measured: true, rows };
  },
  skipped: (reason) => ({ measured: false, reason }),
  format(s) {
    if (!s.measured) return [`   not measured: ${s.reason}`];
    return [
      `   ${'command'.padEnd(36)} ${'runs'.padStart(4)} ${'median ms'.padStart(10)} ${'min ms'.padStart(7)} ${'max ms'.padStart(7)}`,
      ...s.rows.map((r) => `   ${r.command.padEnd(36)} ${String(r.runs).padStart(4)} ${f0(r.medianMs).padStart(10)} ${f0(r.minMs).padStart(7)} ${f0(r.maxMs).padStart(7)}`),
    ];
  },
  targets(s) {
    const help = s.measured ? s.rows.find((r) => r.command === 'pqpsk --help') : undefined;
    const bare = s.measured ? s.rows.find((r) => r.command === 'node -e 0') : undefined;
    const value = help?.medianMs ?? null;
    return [
      {
        target: HELP_TARGET,
        value,
        limit: STARTUP_LIMITS.helpMs,
        unit: 'ms',
        status: statusOf(value, STARTUP_LIMITS.helpMs, true),
        note: s.measured ? `median; bare node -e 0 took ${f0(bare?.medianMs ?? Number.NaN)} ms` : s.reason,
      },
    ];
  },
};
