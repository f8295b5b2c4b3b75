/**
 * pqpsk's memory settings (src/launch.ts) reach every process that runs it: the
 * installed command through its launcher line, the test bed through the argv it spawns
 * (the benchmark's relay process: test/bench/relay-memory.test.ts). And the heap
 * settings do what they say: the young generation stays small.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { NODE_ENVIRONMENT, NODE_FLAGS, launcherArgv, launcherLine } from '../src/launch.js';
import { PQPSK_ARGV } from '../src/testbed/index.js';

const BUNDLE = fileURLToPath(new URL('../src/cli/pqpsk.js', import.meta.url));

function run(file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

test('the installed command starts node with exactly the memory settings', async () => {
  const first = (await readFile(BUNDLE, 'utf8')).split('\n', 1)[0] ?? '';
  assert.equal(first, launcherLine());
  // What `env -S` splits the rest of the line into, as the kernel hands it over in one piece.
  const words = first.replace(/^#!/, '').split(' ');
  assert.deepEqual(words, ['/usr/bin/env', '-S', ...NODE_ENVIRONMENT, 'node', ...NODE_FLAGS]);
});

test('the installed command runs as an executable through its launcher line', async () => {
  // Executed directly, so the kernel reads the #! line and `env -S` must split it.
  const r = await run(BUNDLE, ['--version']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('the test bed runs pqpsk with the same memory settings', () => {
  assert.deepEqual(PQPSK_ARGV.slice(0, -1), launcherArgv(process.execPath));
});

/** Young-generation size (MiB) after allocating short-lived objects, some surviving a while. */
async function youngGenerationMb(flags: readonly string[]): Promise<number> {
  const script = [
    "const v8 = require('node:v8');",
    'let keep = [];',
    'for (let i = 0; i < 2e6; i++) { keep.push({ i, s: String(i) }); if (keep.length > 2e5) keep = []; }',
    "console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);",
  ].join('\n');
  const r = await run(process.execPath, [...flags, '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('with the heap settings the young generation stays at 2 × 2 MiB', async () => {
  const [tuned, plain] = await Promise.all([youngGenerationMb(NODE_FLAGS), youngGenerationMb([])]);
  // The workload does grow it without them, so the first check could fail.
  assert.ok(plain > 4, `without the settings: ${plain} MiB`);
  assert.ok(tuned <= 4, `with the settings: ${tuned} MiB`);
});
