/**
 * `negotiate --watch --background` whose watcher fails at once — its config service is
 * routed outside the tunnel, so it refuses to send anything — says so and exits 2,
 * instead of "watcher running, keeps trying" and 0 for a watcher that is already gone.
 * Nothing is sent: the refusal comes before any request.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MAIN_JS, type Bed, type SingleHop } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';
import { privateSingleHopWithParent } from './helpers.js';

const skip = e2eSkip();

describe('--background on the real bed: a watcher that fails at once', { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let configFile: string;

  before(async () => {
    requireBed();
    ({ bed, topology: t, dir, configFile } = await privateSingleHopWithParent('pqpsk-e2e-bgfail-'));
  });
  after(async () => {
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a config service routed outside the tunnel: exit 2 with the refusal, no "watcher running"', async () => {
    const r = await bed.runIn(
      t.client.namespace,
      [process.execPath, MAIN_JS, 'negotiate', '--interface', t.client.iface, '--config-service', '127.0.0.1:1337', '--watch', '--background', '--config-file', configFile],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `pqpsk negotiate: config service 127.0.0.1:1337 is routed through lo, not through ${t.client.iface}: refusing to send the request outside the tunnel`);
    assert.equal(r.exitCode, 2);
  });
});
