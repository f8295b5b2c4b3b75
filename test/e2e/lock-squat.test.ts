/**
 * An unprivileged local user against a root `pqpsk negotiate` on the real bed. In the
 * client's network namespace, nobody binds the lock's old abstract name with a forged
 * holder reply ("pid 1, watching"), tries the lock directory and keeps trying for as long
 * as the run lasts; the root run must still switch the tunnel to a PSK the relay holds
 * too, and `pqpsk status` must say what that run did, not what nobody said.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PQPSK_ARGV, buildSingleHop, parseNegotiateJson, peerPskFingerprint, runNegotiate, startRelayServer, writeParentConfig } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

/** nobody's squatter: the old abstract name with a forged reply, then the lock directory, again and again. */
const SQUATTER = `
const net = require('node:net'), fs = require('node:fs');
const iface = process.argv[1];
const forged = JSON.stringify({ pid: 1, mode: 'watch', leaving: false, interfaces: {}, status: { state: 'protected' } }) + '\\n';
const s = net.createServer((c) => { c.on('error', () => {}); c.end(forged); });
s.on('error', () => {});
s.listen('\\0pqpsk/' + iface, () => process.stdout.write('squatting\\n'));
setInterval(() => { try { fs.mkdirSync('/run/pqpsk'); } catch {} }, 20);
`;

describe('e2e: a root negotiate and status while an unprivileged user squats the lock', { skip: e2eSkip() }, () => {
  test('the run switches, both ends hold one PSK, and status reports that run, not the forged holder', async () => {
    requireBed();
    const stateDir = await mkdtemp(join(tmpdir(), 'pqpsk-e2e-squat-'));
    const { bed, topology: t } = await buildSingleHop();
    const squatter = spawn('ip', ['netns', 'exec', t.client.namespace, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', SQUATTER, t.client.iface], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        squatter.stdout!.on('data', (d: Buffer) => d.toString().includes('squatting') && resolve());
        squatter.once('exit', (code) => reject(new Error(`the squatter exited (${code})`)));
      });
      const configFile = join(stateDir, `${t.client.iface}.conf`);
      await writeParentConfig(bed, t.client.namespace, t.client.iface, configFile);
      await startRelayServer(bed, t.relay, stateDir);
      const run = await runNegotiate(bed, t.client.namespace, ['--interface', t.client.iface, '--config-service', `${t.relay.gateway}:1337`, '--config-file', configFile, '--json']);
      assert.equal(run.exitCode, 0, run.stderr);
      const hop = parseNegotiateJson(run.stdout).hops[0]!;
      const clientFp = await peerPskFingerprint(t.client.namespace, t.client.iface, t.relay.publicKey);
      assert.ok(clientFp !== null);
      assert.equal(clientFp, await peerPskFingerprint(t.relay.namespace, t.relay.iface, hop.ephemeralPublicKey), 'PSK identical on both ends');
      const ping = await bed.ping(t.client.namespace, t.relay.gateway);
      assert.equal(ping.exitCode, 0, ping.stdout);
      const status = await bed.runIn(t.client.namespace, [...PQPSK_ARGV, 'status', '--interface', t.client.iface, '--json'], { timeoutMs: 30_000 });
      assert.equal(status.exitCode, 0, status.stderr);
      const seen = JSON.parse(status.stdout) as Record<string, unknown>;
      assert.equal(seen['protected'], true, status.stdout);
      assert.equal(seen['watch'] ?? null, null, `no watcher runs, whatever nobody answers on the old name: ${status.stdout}`);
      assert.doesNotMatch(status.stdout, /"pid":1\b/, 'nothing nobody said');
    } finally {
      squatter.kill('SIGKILL');
      await bed.teardown();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
