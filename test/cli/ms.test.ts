/**
 * Times as a user reads them: whole milliseconds (one decimal below 10 ms) on the
 * terminal, 0.1 ms in `--json`, for the figures `negotiate` and `demo` print.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hopLine, reportJson } from '../../src/cli/negotiate-output.js';
import { JSON_MS_DECIMALS, formatMs, jsonMs, timingsLine } from '../../src/cli/ms.js';

const measured = { keygenMs: 0.8312, rpcMs: 61.25, decapsMs: 2.8499, switchMs: 63.70014600000002, verifyMs: 275.3440059999998, totalMs: 1008.045377 };

test('people read whole milliseconds, one decimal below 10 ms', () => {
  assert.equal(formatMs(1008.045377), '1008 ms');
  assert.equal(formatMs(275.3440059999998), '275 ms');
  assert.equal(formatMs(63.70014600000002), '64 ms');
  assert.equal(formatMs(10.2), '10 ms');
  assert.equal(formatMs(9.96), '10 ms', 'rounding up to 10 drops the decimal');
  assert.equal(formatMs(9.94), '9.9 ms');
  assert.equal(formatMs(2.8499), '2.8 ms');
  assert.equal(formatMs(0), '0.0 ms');
  assert.equal(formatMs(Number.NaN), '? ms');
  assert.equal(
    timingsLine(measured),
    'keygen 0.8 ms, rpc 61 ms, decaps 2.8 ms, switch 64 ms, verify 275 ms, total 1008 ms',
  );
});

test('--json times are rounded to 0.1 ms, every field', () => {
  assert.equal(JSON_MS_DECIMALS, 1);
  assert.equal(jsonMs(63.70014600000002), 63.7);
  assert.equal(jsonMs(275.3440059999998), 275.3);
  const json = reportJson({
    attempts: 1,
    totalMs: 1130.4449999,
    hops: [{ role: 'single', interface: 'wg0', peer: 'P', service: 'S', parentPublicKey: 'A', ephemeralPublicKey: 'E', pskFingerprint: '0011223344556677', algorithms: ['ML-KEM-1024'], timings: measured }],
  });
  const text = JSON.stringify(json);
  assert.match(text, /"totalMs":1130\.4,/);
  assert.match(text, /"timings":\{"keygenMs":0\.8,"rpcMs":61\.3,"decapsMs":2\.8,"switchMs":63\.7,"verifyMs":275\.3,"totalMs":1008\}/);
  // No figure carries more than one decimal.
  assert.doesNotMatch(text, /\d\.\d{2}/);
});

test("negotiate's line per hop shows the rounded times", () => {
  const line = hopLine({ role: 'single', interface: 'wg0', peer: 'P', service: 'S', parentPublicKey: 'A', ephemeralPublicKey: 'E', pskFingerprint: '0011223344556677', algorithms: ['ML-KEM-1024', 'HQC-256'], timings: measured });
  assert.equal(
    line,
    'wg0: switched to ephemeral key E, PSK fingerprint 0011223344556677 (ML-KEM-1024 + HQC-256); keygen 0.8 ms, rpc 61 ms, decaps 2.8 ms, switch 64 ms, verify 275 ms, total 1008 ms',
  );
});
