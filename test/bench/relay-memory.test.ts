/**
 * The benchmark's relay process runs with pqpsk's memory settings (src/launch.ts), so the
 * relay the bench measures is the relay installed.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { RelayHost } from '../../bench/harness/relay-memory.js';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/launch.js';

test('the benchmark relay process runs with the memory settings', async () => {
  const host = RelayHost.spawn();
  try {
    const argv = (await readFile(`/proc/${host.pid}/cmdline`, 'utf8')).split('\0');
    for (const flag of NODE_FLAGS) assert.ok(argv.includes(flag), `relay host argv lacks ${flag}: ${argv.join(' ')}`);
    const environment = (await readFile(`/proc/${host.pid}/environ`, 'utf8')).split('\0');
    for (const word of NODE_ENVIRONMENT) assert.ok(environment.includes(word), `relay host environment lacks ${word}`);
  } finally {
    await host.stop();
  }
});
