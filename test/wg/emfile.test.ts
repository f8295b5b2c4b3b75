/**
 * Out of file descriptors (a flood of connections, say), every way pqpsk starts a
 * process fails with a labelled error and the process carries on: no unhandled 'error'
 * event, which would end a watcher or a relay. Run in a child process with a low
 * descriptor limit, every remaining descriptor taken before the launches.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './helpers.js';

const dist = (path: string): string => JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist/src', path)).href);

test('no descriptor left: `wg` in process, through the spawner helper, and the detached watcher each fail as a labelled error', () => {
  const script = [
    `import { openSync } from 'node:fs';`,
    `import { RealWgControl } from ${dist('wg/real.js')};`,
    `import { WgSpawner } from ${dist('wg/spawner.js')};`,
    `import { spawnDetached } from ${dist('cli/detach.js')};`,
    `const spawner = new WgSpawner();`,
    `const held = [];`,
    `try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (err) { if (err.code !== 'EMFILE') throw err; }`,
    `const said = (err) => ({ name: err.constructor.name, code: err.code, message: err.message });`,
    `const out = {};`,
    `out.inProcess = await new RealWgControl().summary('wg0').then(() => 'ran', said);`,
    `out.spawner = await new RealWgControl({ launcher: spawner }).summary('wg0').then(() => 'ran', said);`,
    `out.detached = await new Promise((resolve) => {`,
    `  try {`,
    `    const child = spawnDetached(process.execPath, ['-e', ''], ['ignore', 'ignore', 'ignore', 'ipc']);`,
    `    child.on('error', (err) => resolve({ event: err.code }));`,
    `    child.on('spawn', () => resolve('started'));`,
    `  } catch (err) { resolve(said(err)); }`,
    `});`,
    `spawner.close();`,
    `process.stdout.write(JSON.stringify(out));`,
  ].join('\n');
  const r = spawnSync('prlimit', ['--nofile=256:256', '--', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `the process ended on its own: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout), {
    inProcess: { name: 'WgError', code: 'SETUP', message: 'could not start `wg` (EMFILE) (command: wg show wg0)' },
    spawner: { name: 'WgError', code: 'SETUP', message: 'could not start `wg` (EMFILE) (command: wg show wg0)' },
    // `negotiate --background` turns this event into "could not start the watcher (EMFILE)", exit 2.
    detached: { event: 'EMFILE' },
  });
});
