/**
 * A self-hoster's first run, as the README's reader sets it up: a relay whose tunnel
 * address is 10.8.0.1/24 (`pqpsk server --interface <if>`, listening where it defaults to),
 * a wg-quick client with `AllowedIPs = 0.0.0.0/0`, and `pqpsk negotiate` without
 * --config-service. Nothing answers at the default 10.64.0.1:1337 (the relay does not
 * forward), so the run must say so, naming that address and the option to pass, and say
 * why each attempt failed as it goes; with the relay stopped, "nothing listening" names
 * 10.8.0.1:1337; with the option it suggests, the run succeeds, and `pqpsk server status`
 * shows the client's parent on its ephemeral key, with the relay running and after.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BED_RELAY_USER, PQPSK_ARGV, reachableByRelay, runNegotiate, type Bed, type BedProcess, type SingleHop } from '../../src/testbed/index.js';
import { encodeKeyBase64, generatePrivateKey, publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';
import { e2eSkip, requireBed } from './gate.js';
import { privateSingleHop } from './helpers.js';

const skip = e2eSkip();
/** Words of the gRPC library and status names: a user can act on none of them. */
const INTERNALS = /LB pick|No connection established|Deadline exceeded|DEADLINE_EXCEEDED|UNAVAILABLE|relay answered/;

describe("a self-hoster's first run: relay on 10.8.0.1, full-tunnel wg-quick client", { skip }, () => {
  let bed: Bed;
  let t: SingleHop['topology'];
  let dir: string;
  let iface: string;
  let conf: string;
  let server: BedProcess | undefined;

  before(async () => {
    requireBed();
    ({ bed, topology: t, dir } = await privateSingleHop('pqpsk-e2e-selfhost-'));
    // The relay as a self-hoster numbers it: 10.8.0.1/24, nothing on 10.64.0.1.
    await bed.ip(t.relay.namespace, 'address', 'flush', 'dev', t.relay.iface);
    await bed.ip(t.relay.namespace, 'address', 'add', '10.8.0.1/24', 'dev', t.relay.iface);
    await bed.ip(t.client.namespace, 'link', 'del', t.client.iface);
    const gone = await bed.runIn(t.relay.namespace, ['wg', 'set', t.relay.iface, 'peer', t.client.publicKey, 'remove']);
    assert.equal(gone.exitCode, 0, gone.stderr);
    iface = `pqs${bed.suffix}`.slice(0, 15);
    const key = generatePrivateKey();
    const pub = publicKeyToText(publicKeyOf(key));
    const text = encodeKeyBase64('test parent key', key);
    key.fill(0);
    const r = await bed.runIn(t.relay.namespace, ['wg', 'set', t.relay.iface, 'peer', pub, 'allowed-ips', '10.8.0.2/32']);
    assert.equal(r.exitCode, 0, r.stderr);
    conf = join(dir, `${iface}.conf`);
    const body = ['[Interface]', `PrivateKey = ${Buffer.from(text).toString('latin1')}`, 'Address = 10.8.0.2/24', '', '[Peer]', `PublicKey = ${t.relay.publicKey}`, `Endpoint = ${t.relay.endpoint}`, 'AllowedIPs = 0.0.0.0/0', ''].join('\n');
    text.fill(0);
    await writeFile(conf, body, { mode: 0o600 });
    const up = await bed.runIn(t.client.namespace, ['wg-quick', 'up', conf], { timeoutMs: 60_000 });
    assert.equal(up.exitCode, 0, up.stderr);
  });
  after(async () => {
    await server?.stop().catch(() => undefined);
    if (conf !== undefined) await bed?.runIn(t.client.namespace, ['wg-quick', 'down', conf]).catch(() => undefined);
    await bed?.teardown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('the relay not running: "nothing listening on 10.8.0.1:1337", asking whether `pqpsk server` runs there', async () => {
    const r = await runNegotiate(bed, t.client.namespace, ['--interface', iface, '--config-service', '10.8.0.1:1337', '--max-attempts', '1']);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.equal(r.stderr.trim(), `pqpsk negotiate: gave up after 1 attempt: nothing listening on 10.8.0.1:1337 (connection refused) — is \`pqpsk server\` running there?; ${iface} left on its parent key, which works`);
  });

  test('without --config-service: each failed attempt says why at once, and the run ends naming 10.64.0.1:1337 and --config-service', async (ctx) => {
    await reachableByRelay(join(dir, 'state'));
    server = bed.spawnIn(t.relay.namespace, [...PQPSK_ARGV, 'server', '--interface', t.relay.iface, '--user', BED_RELAY_USER, '--state-dir', join(dir, 'state'), '--hqc-workers', '1']);
    await server.waitForOutput(/"event":"listening"/, 20_000);
    const started = Date.now();
    const r = await runNegotiate(bed, t.client.namespace, ['--interface', iface, '--max-time', '9s']);
    ctx.diagnostic(`${Date.now() - started} ms:\n${r.stderr}`);
    assert.equal(r.exitCode, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    const advice = "— the default (where Mullvad's relays answer); for your own relay pass --config-service <relay tunnel address>:1337";
    assert.equal(lines[0], `pqpsk: attempt 1 failed: no answer at all from 10.64.0.1:1337 within 8000 ms ${advice}; trying again now`);
    assert.match(lines[lines.length - 1]!, new RegExp(`^pqpsk negotiate: gave up after 2 attempts in 9 s \\(--max-time\\): no answer at all from 10\\.64\\.0\\.1:1337 within \\d+ ms ${advice.replace(/[()]/g, '\\$&')}; ${iface} left on its parent key, which works$`));
    assert.doesNotMatch(r.stderr, INTERNALS);

    const fixed = await runNegotiate(bed, t.client.namespace, ['--interface', iface, '--config-service', '10.8.0.1:1337', '--max-time', '30s']);
    assert.equal(fixed.exitCode, 0, `the option the message suggests works: ${fixed.stderr}`);
    assert.match(fixed.stdout, new RegExp(`^${iface}: switched to ephemeral key `));

    // The operator's view, while the relay runs (no lock taken), and after a clean stop,
    // which gives the parent its addresses back and removes the ephemeral peer.
    for (const phase of ['running', 'stopped']) {
      if (phase === 'stopped') await server.stop();
      const view = await bed.runIn(t.relay.namespace, [...PQPSK_ARGV, 'server', 'status', '--interface', t.relay.iface, '--state-dir', join(dir, 'state')]);
      ctx.diagnostic(`server status (${phase}):\n${view.stdout}`);
      assert.equal(view.exitCode, 0, view.stderr);
      if (phase === 'running') {
        assert.match(view.stdout, new RegExp(`^${t.relay.iface}: 1 of 1 parent on a post-quantum ephemeral key `));
        assert.match(view.stdout, /^ {2}\S+ {2}on ephemeral \S+ since \S+; handshake \d+ s ago; 10\.8\.0\.2\/32$/m);
      } else {
        assert.match(view.stdout, new RegExp(`^${t.relay.iface}: 0 of 1 parent on a post-quantum ephemeral key `));
        assert.match(view.stdout, /^ {2}\S+ {2}on parent key; handshake \d+ s ago; 10\.8\.0\.2\/32$/m);
      }
    }
  });
});
