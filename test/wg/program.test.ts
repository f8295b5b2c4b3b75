/**
 * runProgram (src/wg/program.ts), as the in-process launcher uses it: a program it
 * started does not outlive pqpsk.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { alive, REPO_ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pqpsk-program-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a program still running when the process exits is killed, as a `wg set` blocked on a FIFO would be', async () => {
  const pidFile = join(dir, 'pid');
  const launcher = pathToFileURL(join(REPO_ROOT, 'dist/src/wg/launcher.js')).href;
  const script = [
    `import { inProcessLauncher } from ${JSON.stringify(launcher)};`,
    `import { existsSync } from 'node:fs';`,
    `inProcessLauncher.launch('sh', ['-c', 'echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile} && exec sleep 30'], { timeoutMs: 60000, env: {} });`,
    `const wait = setInterval(() => { if (existsSync(${JSON.stringify(pidFile)})) { clearInterval(wait); process.exit(0); } }, 10);`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const end = Date.now() + 5000;
  while (alive(pid) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
  const still = alive(pid);
  if (still) process.kill(pid, 'SIGKILL');
  assert.equal(still, false, 'the program outlived the process that started it');
});
