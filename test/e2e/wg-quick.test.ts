/**
 * End-to-end: the self-hoster's journey with wg-quick files — a server on 10.8.0.1/24
 * running `pqpsk server`, a full-tunnel client whose PostUp line is the documented one —
 * brought up, protected, and restarted with `wg-quick down && wg-quick up` while the
 * watcher is in the middle of an attempt; and the detached watcher whose first attempt
 * outlives --background-wait. Every packet starts in a namespace this file created.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SELF_HOSTED_SERVER, buildWgQuickPair, peerPskFingerprint, startRelayServer, type WgQuickPair } from '../../src/testbed/index.js';
import { alive, currentKey, waitGone } from './helpers.js';
import { e2eSkip, requireBed } from './gate.js';

const skip = e2eSkip();

/** The PostUp line of examples/wg-quick/wg0.conf, word for word. */
const DOCUMENTED_POST_UP = 'pqpsk negotiate --interface %i --watch --background';

/** How many restarts in a row each case survives. */
const RESTARTS = 5;

/** The pid the PostUp line names in `watcher running, pid N`. */
function watcherPid(output: string): number {
  const m = /watcher running, pid (\d+)/.exec(output);
  assert.ok(m, `PostUp names its watcher:\n${output}`);
  return Number(m[1]);
}

/** The config service unreachable (SYNs dropped, so an attempt waits out its window), or reachable again. */
async function serviceReachable(pair: WgQuickPair, reachable: boolean): Promise<void> {
  const r = await pair.bed.runIn(pair.server.namespace, ['iptables', reachable ? '-D' : '-I', 'INPUT', '-p', 'tcp', '--dport', '1337', '-j', 'DROP']);
  assert.equal(r.exitCode, 0, r.stderr);
}

/** The client holds a PSK for the server, the server the same one for the client's current key, and the tunnel carries a ping. */
async function assertProtected(pair: WgQuickPair, when: string): Promise<void> {
  const { bed, client, server } = pair;
  const key = await currentKey(bed, client.namespace, client.iface);
  assert.notEqual(key, client.publicKey, `${when}: on an ephemeral key`);
  const clientFp = await peerPskFingerprint(client.namespace, client.iface, server.publicKey);
  assert.ok(clientFp !== null, `${when}: the client holds a PSK`);
  assert.equal(await peerPskFingerprint(server.namespace, server.iface, key), clientFp, `${when}: the same PSK on both ends`);
  const ping = await bed.ping(client.namespace, SELF_HOSTED_SERVER);
  assert.equal(ping.exitCode, 0, `${when}: ping through the tunnel: ${ping.stdout}`);
}

const cases = [
  { name: 'with --config-service 10.8.0.1:1337', postUp: `${DOCUMENTED_POST_UP} --config-service ${SELF_HOSTED_SERVER}:1337`, extra: [], listen: undefined },
  // Without it the client asks the default 10.64.0.1:1337: here the server also carries
  // that address and its service listens on all of its addresses.
  { name: 'without --config-service (the default 10.64.0.1:1337)', postUp: DOCUMENTED_POST_UP, extra: ['10.64.0.1/32'], listen: '0.0.0.0' },
] as const;

for (const c of cases) {
  describe(`a self-hoster's wg-quick files, the documented PostUp line ${c.name}`, { skip }, () => {
    let pair: WgQuickPair | undefined;

    before(async () => {
      requireBed();
      pair = await buildWgQuickPair({ clientPostUp: c.postUp, serverExtraAddresses: c.extra });
    });
    after(async () => {
      await pair?.close();
    });

    test(`up, protected; then ${RESTARTS} × down && up, each while the watcher is mid-attempt: the interface survives every up and is protected again`, async (ctx) => {
      const p = pair!;
      const serverUp = await p.up(p.server);
      assert.equal(serverUp.exitCode, 0, serverUp.stderr);
      await startRelayServer(p.bed, { namespace: p.server.namespace, iface: p.server.iface, ...(c.listen === undefined ? {} : { serviceAddress: c.listen }) }, join(p.dir, 'state'));

      const up = await p.up(p.client);
      assert.equal(up.exitCode, 0, up.stderr);
      assert.match(up.stdout, /^pqpsk: switched \(.*\); watcher running, pid \d+$/m);
      let pid = watcherPid(up.stdout);
      await assertProtected(p, 'first up');

      for (let n = 1; n <= RESTARTS; n++) {
        // A rotation now, into a config service that does not answer: the watcher sits in
        // an attempt with seconds of its window left when the tunnel goes down.
        await serviceReachable(p, false);
        process.kill(pid, 'SIGHUP');
        await new Promise((r) => setTimeout(r, 1500));
        assert.ok(alive(pid), `restart ${n}: the watcher is running`);
        const down = await p.down(p.client);
        assert.equal(down.exitCode, 0, down.stderr);
        await serviceReachable(p, true);
        const started = Date.now();
        const again = await p.up(p.client);
        const ms = Date.now() - started;
        ctx.diagnostic(`restart ${n}: wg-quick up exit ${again.exitCode} after ${ms} ms: ${again.stdout.trim()}`);
        assert.equal(again.exitCode, 0, `restart ${n}: wg-quick up:\n${again.stdout}${again.stderr}`);
        const link = await p.bed.runIn(p.client.namespace, ['ip', 'link', 'show', 'dev', p.client.iface]);
        assert.equal(link.exitCode, 0, `restart ${n}: the interface exists after up`);
        assert.deepEqual(await waitGone([pid], 2_000), [], `restart ${n}: the old watcher is gone`);
        assert.match(again.stdout, /^pqpsk: switched \(.*\); watcher running, pid \d+$/m);
        pid = watcherPid(again.stdout);
        await assertProtected(p, `restart ${n}`);
      }
    });
  });
}

describe('--background: a first attempt that outlives --background-wait', { skip }, () => {
  let pair: WgQuickPair | undefined;
  let log: string;

  before(async () => {
    requireBed();
    pair = await buildWgQuickPair({
      clientPostUp: (dir) => `${DOCUMENTED_POST_UP} --config-service ${SELF_HOSTED_SERVER}:1337 --background-wait 3s --log-file ${join(dir, 'watcher.log')}`,
    });
    log = join(pair.dir, 'watcher.log');
  });
  after(async () => {
    await pair?.close();
  });

  test('the watcher keeps running after its parent has gone, and switches once the config service answers', async () => {
    const p = pair!;
    const serverUp = await p.up(p.server);
    assert.equal(serverUp.exitCode, 0, serverUp.stderr);
    await startRelayServer(p.bed, { namespace: p.server.namespace, iface: p.server.iface }, join(p.dir, 'state'));
    await serviceReachable(p, false);
    const up = await p.up(p.client);
    assert.equal(up.exitCode, 0, up.stderr);
    assert.match(up.stdout, /^pqpsk: first attempt still running after 3s; tunnel on its parent key; watcher running, pid \d+$/m);
    const pid = watcherPid(up.stdout);

    // The first attempt settles (8 s window) after the parent has returned.
    const text = async (): Promise<string> => readFile(log, 'utf8');
    const until = async (pattern: RegExp, ms: number): Promise<string> => {
      const end = Date.now() + ms;
      for (;;) {
        const t = await text();
        if (pattern.test(t)) return t;
        assert.ok(alive(pid), `the watcher is running:\n${t}`);
        assert.ok(Date.now() < end, `${String(pattern)} within ${ms} ms:\n${t}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until(/negotiation failed \(/, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(alive(pid), `the watcher outlives its first failure:\n${await text()}`);
    assert.doesNotMatch(await text(), /ERR_IPC_CHANNEL_CLOSED|Error \[/);

    await serviceReachable(p, true);
    await until(/switched: \S+ on ephemeral key/, 90_000);
    await assertProtected(p, 'after the config service came back');
  });
});
