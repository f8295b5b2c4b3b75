/**
 * The product apart from the lab, as the source tree shows it: nothing in src/ reaches
 * into the bench or the tests, the tests do not lean on the bench (only the bench's own
 * tests, test/bench/, import it), the bench borrows only test fixtures, and src/ holds
 * no test double. Read from the sources, so a new import that breaks a rule fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { ROOT, filesUnder, reaches } from './fixtures/source-tree.js';

const isCode = (f: string): boolean => /\.(ts|js|mjs)$/.test(f) || !posix.basename(f).includes('.');
const BENCH = /^(src\/)?bench\//;

test('src/ imports neither the bench nor the tests', () => {
  const broken = filesUnder('src')
    .filter((f) => !BENCH.test(f) && isCode(f))
    .flatMap((f) => reaches(f).filter((t) => BENCH.test(t) || t.startsWith('test/')).map((t) => `${f} → ${t}`));
  assert.deepEqual(broken, []);
});

test('the tests do not import the bench (only its own tests, test/bench/, do)', () => {
  const broken = filesUnder('test')
    .filter((f) => !f.startsWith('test/bench/') && !f.startsWith('test/vectors/') && isCode(f))
    .flatMap((f) => reaches(f).filter((t) => BENCH.test(t)).map((t) => `${f} → ${t}`));
  assert.deepEqual(broken, []);
});

test('the bench borrows from the tests only their fixtures', () => {
  const bench = filesUnder(statExists('bench') ? 'bench' : 'src/bench');
  const broken = bench.flatMap((f) => reaches(f).filter((t) => t.startsWith('test/') && !t.startsWith('test/fixtures/')).map((t) => `${f} → ${t}`));
  assert.deepEqual(broken, []);
});

test('src/ holds no test double: no fake, stand-in, stub or mock outside the bench', () => {
  const doubles = filesUnder('src').filter((f) => !BENCH.test(f) && /(fake|standin|stand-in|stub|mock)/i.test(posix.basename(f)));
  assert.deepEqual(doubles, []);
  const named = filesUnder('src')
    .filter((f) => !BENCH.test(f) && f.endsWith('.ts'))
    .filter((f) => /\bexport\s+(class|function|const)\s+(Fake|Stub|Mock|Standin)\w*/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(named, []);
});

function statExists(rel: string): boolean {
  try {
    return statSync(join(ROOT, rel)).isDirectory();
  } catch {
    return false;
  }
}
