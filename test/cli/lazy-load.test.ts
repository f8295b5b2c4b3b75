/**
 * The command line loads a command's modules only when that command runs: `pqpsk --help`
 * and the parsing of every command need yargs and the commands' option definitions,
 * nothing else. This follows the static imports of the compiled files from main.js (a
 * dynamic `import()` is where loading is meant to wait) and fails when they reach a
 * package other than yargs, or a command's `-run` module — the mistake that makes every
 * command pay for all of them. No timing: the start-up figures are in `npm run bench`.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const CLI = fileURLToPath(new URL('../../src/cli/', import.meta.url));
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const ALLOWED_PACKAGES = new Set(['yargs', 'yargs/helpers']);

/** The specifiers of a module's static imports and re-exports. */
function staticImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\n;])\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

/** Every file and package `entry` (main.js by default) reaches through static imports. */
function reach(entry = join(CLI, 'main.js')): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) queue.push(join(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(spec);
    }
  }
  return { files, packages };
}

test('the import scanner sees static imports and re-exports, not dynamic imports', () => {
  const text = "import a from './a.js';\nimport { b,\n  c } from \"./b.js\";\nexport { d } from './d.js';\nimport './e.js';\nconst f = await import('./f.js');";
  assert.deepEqual(staticImports(text), ['./a.js', './b.js', './d.js', './e.js']);
});

/** Every command in src/cli/commands/: each `<name>.js` beside its `<name>-run.js`. */
function commandNames(): string[] {
  const files = readdirSync(join(CLI, 'commands')).filter((f) => f.endsWith('.js'));
  return files.filter((f) => f !== 'index.js' && !f.endsWith('-run.js')).map((f) => f.slice(0, -'.js'.length));
}

test('pqpsk --help loads yargs and the command definitions, no command module and no other package', () => {
  const { files, packages } = reach();
  const names = [...files].map((f) => relative(DIST, f)).sort();
  for (const command of commandNames()) assert.ok(names.includes(`src/cli/commands/${command}.js`), `${command} is registered in index.ts`);
  assert.deepEqual(
    names.filter((n) => n.endsWith('-run.js')),
    [],
    'a -run module is loaded by its handler only',
  );
  assert.deepEqual([...packages].filter((p) => !ALLOWED_PACKAGES.has(p)), [], `packages reached: ${[...packages].join(', ')}`);
});

test('each command handler loads its -run module when the command runs', () => {
  assert.ok(commandNames().length >= 3);
  for (const command of commandNames()) {
    const text = readFileSync(join(CLI, 'commands', `${command}.js`), 'utf8');
    assert.match(text, new RegExp(`await import\\('\\./${command}-run\\.js'\\)`), command);
  }
});

test('pqpsk negotiate reaches grpc-js and protobufjs only through the import() that loads them beside its work', () => {
  const { files, packages } = reach(join(CLI, 'commands', 'negotiate-run.js'));
  assert.ok([...files].some((f) => relative(DIST, f) === 'src/rpc/client.js'), 'negotiate-run reaches the gRPC client');
  assert.deepEqual([...packages].filter((p) => p.startsWith('@grpc/') || p.startsWith('protobufjs')), [], `packages reached: ${[...packages].join(', ')}`);
});
