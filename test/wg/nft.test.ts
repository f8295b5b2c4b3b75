import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rulesetGuardsService } from '../../src/wg/nft.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/nftables-pqpsk.nft', import.meta.url));

test('the shipped nftables example is what the start-up check looks for', () => {
  // `nft list ruleset` prints the rule as written in the example.
  const printed = readFileSync(EXAMPLE, 'utf8');
  assert.equal(rulesetGuardsService(printed, 'wg0', 1337), true);
  assert.equal(rulesetGuardsService(printed, 'wg1', 1337), false, 'another interface');
  assert.equal(rulesetGuardsService(printed, 'wg0', 13370), false, 'another port');
  assert.equal(rulesetGuardsService('table inet f {\n\tchain input {\n\t\ttcp dport 1337 accept\n\t}\n}\n', 'wg0', 1337), false);
  assert.equal(rulesetGuardsService('', 'wg0', 1337), false);
});
