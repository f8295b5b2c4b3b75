/**
 * The installed `pqpsk` is the bundle the build makes (dist/src/cli/pqpsk.js, see
 * scripts/bundle-cli.mjs). It must answer exactly as the compiled sources do: the same
 * help, version, usage errors and exit codes, and each command's modules must load from
 * their chunks (a command that cannot be set up fails the same way from both).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../src/cli/pqpsk.js', import.meta.url));

function run(file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout: 60_000, env: { ...process.env, COLUMNS: '100' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run as root, `pqpsk server` gives its state directory to the relay user first: one of the test's own. */
const STATE = mkdtempSync(join(tmpdir(), 'pqpsk-bundle-state-'));
after(() => rmSync(STATE, { recursive: true, force: true }));

const CASES: readonly (readonly string[])[] = [
  ['--help'],
  ['negotiate', '--help'],
  ['server', '--help'],
  ['demo', '--help'],
  ['--version'],
  [],
  ['negotiat'],
  ['negotiate', '--no-such-option'],
  // Loads negotiate's modules, then fails on the interface (exit 2, one line).
  ['negotiate', '--interface', 'pqnosuch0', '--max-attempts', '1', '--no-mss-clamp'],
  // Loads the relay's modules, then fails on the interface's address (exit 2, one line).
  ['server', '--interface', 'pqnosuch0', '--user', 'nobody', '--state-dir', STATE],
];

for (const args of CASES) {
  test(`bundled pqpsk ${args.join(' ') || '(no arguments)'}: same output and exit code as the compiled sources`, async () => {
    // One after the other: run together, two `negotiate` runs race for the same interface lock.
    const compiled = await run(MAIN, args);
    const bundled = await run(BUNDLE, args);
    assert.deepEqual(bundled, compiled);
  });
}

test('bundled pqpsk --version prints the package version', async () => {
  const r = await run(BUNDLE, ['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('negotiate flags that make no sense are refused by their flag names, exit 2', async () => {
  const attempts = await run(MAIN, ['negotiate', '--interface', 'pqnosuch0', '--max-attempts', '0', '--no-mss-clamp']);
  assert.deepEqual(attempts, { code: 2, stdout: '', stderr: 'pqpsk negotiate: --max-attempts: expected a whole number ≥ 1, got 0\n' });
  const same = await run(MAIN, ['negotiate', '--entry', 'pqnosuch0', '--exit', 'pqnosuch0', '--no-mss-clamp']);
  assert.deepEqual(same, { code: 2, stdout: '', stderr: 'pqpsk negotiate: --entry and --exit: expected two different interfaces\n' });
});
