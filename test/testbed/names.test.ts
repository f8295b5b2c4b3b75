import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSuffix, linkName, namespaceName, newSuffix, uapiSocket } from '../../src/testbed/names.js';
import { Bed } from '../../src/testbed/bed.js';
import { liveBedCount } from '../../src/testbed/cleanup.js';

test('suffixes are 6 fresh [a-z0-9] characters', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = newSuffix();
    assert.match(s, /^[a-z0-9]{6}$/);
    seen.add(s);
  }
  assert.ok(seen.size > 190);
});

test('every name carries the suffix and links fit in 15 characters even with the longest suffix', () => {
  const s = 'abcdefgh';
  checkSuffix(s);
  assert.equal(namespaceName(s, 'relay'), 'pqpsk-abcdefgh-relay');
  for (const tag of ['wc', 'wr', 'wo', 'wi', 'we', 'wx', 'va', 'vb', 'vc', 'vd']) {
    const name = linkName(s, tag);
    assert.ok(name.length <= 15 && name.endsWith(s), name);
  }
  assert.equal(uapiSocket('pqwrabc'), '/var/run/wireguard/pqwrabc.sock');
  assert.throws(() => linkName('abcdefgh', 'wxyz12'), /longer than 15/);
});

test('bad suffixes are refused before anything is created', () => {
  for (const bad of ['', 'ABC', 'abcdefghi', 'a-b', 'a b']) {
    assert.throws(() => new Bed(bad), /test bed suffix: expected 1-8 characters/);
  }
  assert.equal(liveBedCount(), 0);
});
