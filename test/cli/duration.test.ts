/** Regression tests for what the duration fuzz target found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DURATION_MS, formatDuration, parseDuration } from '../../src/cli/duration.js';
import { rejection } from '../fixtures/errors.js';

test('a duration past 2^53 ms is refused, not accepted as a float that prints back unreadable (fuzz: "9999999999999999d")', async () => {
  const err = await rejection(Promise.resolve().then(() => parseDuration('--ephemeral-ttl', '9999999999999999d', 0)));
  assert.equal(err.code, 'INVALID_INPUT');
  assert.equal(err.message, '--ephemeral-ttl: must be at most 876000h');
});

test('the longest accepted duration prints back as text that parses to the same value', () => {
  assert.equal(parseDuration('--ephemeral-ttl', '36500d'), MAX_DURATION_MS);
  assert.equal(parseDuration('again', formatDuration(MAX_DURATION_MS)), MAX_DURATION_MS);
  assert.throws(() => parseDuration('--ephemeral-ttl', '36500d1ms'), /must be at most/);
});
