/**
 * The side-by-side section's arithmetic and its lines, from made-up samples (no bed): the
 * ratios are ours ÷ Mullvad's medians, the HQC-256 row is held against Mullvad's figure
 * plus the HQC-256 client work, and every target line carries its goal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SideBySideSample } from '../../bench/harness/bed-mullvad.js';
import { mullvadSection, summarise } from '../../bench/sections/mullvad.js';

const sample = (kind: SideBySideSample['kind'], startToSwitchedMs: number, verifyMs: number | null): SideBySideSample => ({ kind, startToSwitchedMs, processMs: startToSwitchedMs + 5, verifyMs, inProcessMs: verifyMs === null ? null : startToSwitchedMs / 2 });

test('ratios are medians of ours over Mullvad\'s, the HQC-256 row with the HQC work added to Mullvad\'s figure', () => {
  const samples = [
    ...[100, 120, 140].map((ms) => sample('mullvad -kem mlkem', ms, null)),
    ...[200, 240, 300].map((ms) => sample('pqpsk --kem ML-KEM-1024', ms, 50)),
    ...[260, 280, 290].map((ms) => sample('pqpsk --kem ML-KEM-1024,HQC-256', ms, 150)),
  ];
  const m = summarise(3, samples, 4, 20);
  assert.equal(m.mlkemRatio, 2);
  assert.equal(m.hqcRatio, 280 / (120 + 20));
  assert.equal(m.verifyMs, 100);
  assert.deepEqual(m.rows.map((r) => r.medianStartToSwitchedMs), [120, 240, 280]);
  assert.deepEqual(m.rows.map((r) => r.medianInProcessMs), [Number.NaN, 120, 140]);

  const targets = mullvadSection.targets(m);
  assert.deepEqual(targets.map((t) => [t.status, t.limit]), [['pass', 2], ['miss', 1.5], ['pass', 2.5], ['pass', 100]]);
  const table = mullvadSection.format(m).join('\n');
  assert.match(table, /mullvad -kem mlkem +120 +100, 120, 140 +125 +—/);
  assert.match(table, /pqpsk --kem ML-KEM-1024 +240 +200, 240, 300 +245 +120/);
  assert.match(table, /\(a\) 2\.0×/);
});

test('without the binary every target says why it was not measured', () => {
  const reason = "Mullvad's client not found at /x";
  const targets = mullvadSection.targets({ measured: false, reason });
  assert.equal(targets.length, 4);
  for (const t of targets) assert.deepEqual([t.status, t.note], ['not measured', reason]);
});
