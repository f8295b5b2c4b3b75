/**
 * The README's "How the code is laid out" stays true of the tree: every path it names
 * exists, every folder of src/ and of the repository (and every module at src/'s top) is
 * named, and the claims it makes about who does what hold, checked by reading the code.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { ROOT, filesUnder } from './fixtures/source-tree.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SECTION = README.slice(README.indexOf('## How the code is laid out'), README.indexOf('\n## ', README.indexOf('## How the code is laid out') + 1));
const LISTING = SECTION.slice(SECTION.indexOf('```\n') + 4, SECTION.indexOf('\n```', SECTION.indexOf('```\n') + 4));
/** The first word of each entry of the listing (continuation lines are indented). */
const NAMED = LISTING.split('\n')
  .filter((line) => /^\S/.test(line))
  .map((line) => line.split(/\s+/)[0]!);

const isDir = (rel: string): boolean => statSync(join(ROOT, rel), { throwIfNoEntry: false })?.isDirectory() === true;
const exists = (rel: string): boolean => statSync(join(ROOT, rel), { throwIfNoEntry: false }) !== undefined;

/** Source files of the product (src/ without the bench), with their code lines (no comment lines). */
const PRODUCT = filesUnder('src')
  .filter((f) => f.endsWith('.ts') && !f.startsWith('src/bench/'))
  .map((f) => ({ file: f, code: readFileSync(join(ROOT, f), 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join('\n') }));

/** Product files whose code matches `pattern`, outside the folders (or files) in `allowed`. */
function outside(pattern: RegExp, allowed: readonly string[]): string[] {
  return PRODUCT.filter((s) => pattern.test(s.code) && !allowed.some((a) => s.file.startsWith(a))).map((s) => s.file);
}

test('every path the listing names exists, with a folder named as a folder', () => {
  assert.ok(NAMED.length > 10, `the listing was found: ${NAMED.join(' ')}`);
  for (const name of NAMED) {
    assert.ok(exists(name), `${name} is in the tree`);
    assert.equal(isDir(name), name.endsWith('/'), `${name}: a folder ends in /, a file does not`);
  }
});

test('every folder of src/, every module at its top and every folder of the repository is named', () => {
  for (const name of readdirSync(join(ROOT, 'src'))) {
    const rel = isDir(`src/${name}`) ? `src/${name}/` : `src/${name}`;
    assert.ok(NAMED.includes(rel), `${rel} is in the README's layout`);
  }
  // src/ is named folder by folder above; build output and dependencies are not the code.
  const unlisted = new Set(['node_modules', 'dist', 'coverage']);
  for (const name of readdirSync(ROOT)) {
    if (name.startsWith('.') || name === 'src' || unlisted.has(name) || !isDir(name)) continue;
    assert.ok(NAMED.includes(`${name}/`), `${name}/ is in the README's layout`);
  }
});

test('"Processes are started only by src/wg/, src/cli/ and src/testbed/": true of the code', () => {
  assert.match(SECTION, /Processes are started only by src\/wg\/ \(the programs above\), src\/cli\/ \(the detached\s+watcher\) and src\/testbed\/ \(the bed\)/);
  assert.deepEqual(outside(/from '(node:child_process|execa)'/, ['src/wg/', 'src/cli/', 'src/testbed/']), []);
});

test('"src/rpc/ the only code that knows gRPC": true of the code', () => {
  assert.match(LISTING, /src\/rpc\/ +the only code that knows gRPC/);
  assert.deepEqual(outside(/from '@grpc\//, ['src/rpc/']), []);
});

test('"kem/ and protocol/ are pure" (no process, network, thread or gRPC; only kem/hqc/ reads files): true of the code', () => {
  assert.match(LISTING, /encapsulation, registry, PSK combiner — pure; hqc\/ loads the HQC-256/);
  assert.match(LISTING, /constants — pure/);
  const pure = PRODUCT.filter((s) => s.file.startsWith('src/kem/') || s.file.startsWith('src/protocol/'));
  const impure = pure.filter((s) => /from '(node:child_process|node:net|node:dgram|node:http2?|node:worker_threads|execa|@grpc\/[^']*)'/.test(s.code)).map((s) => s.file);
  assert.deepEqual(impure, []);
  assert.deepEqual(pure.filter((s) => /from 'node:fs(\/promises)?'/.test(s.code) && !s.file.startsWith('src/kem/hqc/')).map((s) => s.file), []);
});

test('"src/cli/ the only code that prints or picks an exit code": true of the code (the helper process only ends itself)', () => {
  assert.match(LISTING, /src\/cli\/ +commands, output, exit codes: the only code that prints or picks an exit code/);
  const printsOrExits = /process\.(stdout|stderr)\.write|console\.(log|error|warn|info)\(|process\.exitCode\s*=|process\.exit\(/;
  assert.deepEqual(outside(printsOrExits, ['src/cli/', 'src/wg/spawner-child.ts']), []);
  // The relay's helper process exits, with 0, when its parent is gone: it picks no exit code for a user.
  const helper = PRODUCT.find((s) => s.file === 'src/wg/spawner-child.ts')!;
  assert.deepEqual([...helper.code.matchAll(/process\.exit\((\d*)\)/g)].map((m) => m[1]), ['0']);
});

test('the listing names no file of a folder that is not there (folders named inside entries)', () => {
  // "src/server/ the relay: relay.ts …": each file an entry names inside its folder exists.
  const entries = LISTING.split(/\n(?=\S)/);
  for (const entry of entries) {
    const folder = entry.split(/\s+/)[0]!;
    if (!folder.startsWith('src/') || !folder.endsWith('/')) continue;
    for (const m of entry.matchAll(/(?<![\w<>-])([a-z0-9][a-z0-9-]*\.ts)\b/g)) {
      assert.ok(exists(posix.join(folder, m[1]!)), `${folder}${m[1]} (named in the README) exists`);
    }
  }
});
