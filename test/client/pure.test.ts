/** Pure helpers of the client's edges: CLI argument parsing, the MSS route, the PSK read-back parser. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hopsFromArgs } from '../../src/cli/commands/negotiate-run.js';
import { reportJson } from '../../src/cli/negotiate-output.js';
import { parseDuration } from '../../src/cli/duration.js';
import { parseKemList } from '../../src/client/kems.js';
import { parseService } from '../../src/client/probe.js';
import { parsePresharedKeys } from '../../src/testbed/psk-read.js';
import { clampWords, hostRouteArgs, lockedMetrics, routeAdvmss, withoutMtu } from '../../src/wg/route.js';

const base = {
  'config-service': '10.64.0.1:1337',
  'entry-service': '10.64.0.1:1337',
  'exit-service': '10.65.0.1:1337',
  kem: 'ML-KEM-1024,HQC-256',
  'hqc-engine': 'pqpsk' as const,
  'verify-timeout': '10s',
  json: false,
  verbose: false,
  'mss-clamp': true,
  'timeout-scale': 1,
  'hold-after-switch': 0,
};

test('durations: seconds, milliseconds, minutes; a bare number and nonsense are labelled errors', () => {
  assert.equal(parseDuration('--verify-timeout', '10s', 100), 10_000);
  assert.equal(parseDuration('--verify-timeout', '250ms', 100), 250);
  assert.equal(parseDuration('--verify-timeout', '1.5s', 100), 1500);
  assert.equal(parseDuration('--verify-timeout', '2m', 100), 120_000);
  assert.throws(() => parseDuration('--verify-timeout', '3', 100), /--verify-timeout: expected a duration/);
  assert.throws(() => parseDuration('--verify-timeout', 'soon'), /--verify-timeout: expected a duration/);
  assert.throws(() => parseDuration('--verify-timeout', '0s', 100), /--verify-timeout: must be at least 100ms/);
});

test('hops from arguments: single hop, multihop, and the mistakes', () => {
  assert.deepEqual(hopsFromArgs({ ...base, interface: 'wg0' }), [
    {
      role: 'single',
      iface: 'wg0',
      peer: null,
      service: '10.64.0.1:1337',
      noAnswerAdvice: "the default (where Mullvad's relays answer); for your own relay pass --config-service <relay tunnel address>:1337",
    },
  ]);
  assert.equal(
    hopsFromArgs({ ...base, interface: 'wg0', 'config-service': '10.8.0.1:1337' })[0]!.noAnswerAdvice,
    'is the tunnel up (a recent handshake in `wg show`), and does the relay let TCP port 1337 in?',
    'a service the user named: the tunnel and the port are what to check',
  );
  assert.deepEqual(hopsFromArgs({ ...base, entry: 'wg-in', exit: 'wg-out' }).map((h) => [h.role, h.iface, h.service]), [
    ['entry', 'wg-in', '10.64.0.1:1337'],
    ['exit', 'wg-out', '10.65.0.1:1337'],
  ]);
  assert.throws(() => hopsFromArgs({ ...base }), /expected --interface/);
  assert.throws(() => hopsFromArgs({ ...base, entry: 'wg-in' }), /both --entry and --exit/);
  assert.throws(() => hopsFromArgs({ ...base, entry: 'wg-in', exit: 'wg-in' }), { message: '--entry and --exit: expected two different interfaces' });
  assert.throws(() => hopsFromArgs({ ...base, interface: 'wg0', exit: 'x' }), /not with --entry/);
  assert.throws(() => hopsFromArgs({ ...base, interface: 'wg0', 'config-service': '10.64.0.1' }), /--config-service: expected ip:port/);
});

test('service addresses and KEM lists are checked at the edge', () => {
  assert.deepEqual(parseService('s', '10.64.0.1:1337'), { host: '10.64.0.1', port: 1337 });
  assert.deepEqual(parseService('s', '[fc00:bbbb::1]:1337'), { host: 'fc00:bbbb::1', port: 1337 });
  assert.throws(() => parseService('s', 'relay:1337'), /s: expected ip:port/);
  assert.throws(() => parseService('s', '10.0.0.1:0'), /s: expected ip:port/);
  assert.deepEqual(parseKemList('ML-KEM-1024, HQC-256'), ['ML-KEM-1024', 'HQC-256']);
  assert.throws(() => parseKemList('HQC-256,HQC-256'), /repeats/);
  assert.throws(() => parseKemList('Kyber512'), /not a known KEM/);
});

test('--json carries per hop the public facts and timings, never a PSK field', () => {
  const timings = { keygenMs: 1, rpcMs: 2, decapsMs: 3, switchMs: 4, verifyMs: 5, totalMs: 15 };
  const json = reportJson({
    attempts: 1,
    totalMs: 20,
    hops: [{ role: 'single', interface: 'wg0', peer: 'P', service: 'S', parentPublicKey: 'A', ephemeralPublicKey: 'E', pskFingerprint: '0011223344556677', algorithms: ['ML-KEM-1024', 'HQC-256'], timings }],
  });
  assert.deepEqual(Object.keys((json as { hops: object[] }).hops[0]!).sort(), [
    'algorithms', 'configService', 'ephemeralPublicKey', 'interface', 'parentPublicKey', 'peer', 'pskFingerprint', 'role', 'timings',
  ]);
});

test('MSS guard route: the kernel path or the existing route re-stated, so only advmss changes', () => {
  assert.deepEqual(hostRouteArgs('10.64.0.1', { dev: 'wg0', prefsrc: '10.64.0.2' }), ['10.64.0.1/32', 'dev', 'wg0', 'src', '10.64.0.2']);
  assert.deepEqual(hostRouteArgs('10.65.0.1', { dev: 'wg1', gateway: '10.65.0.254' }), ['10.65.0.1/32', 'via', '10.65.0.254', 'dev', 'wg1']);
  assert.deepEqual(
    hostRouteArgs('10.64.0.1', { dev: 'wg0', protocol: 'static', scope: 'link', metric: 5, metrics: [{ mtu: 1280, advmss: 496 }] }),
    ['10.64.0.1/32', 'dev', 'wg0', 'proto', 'static', 'scope', 'link', 'metric', '5', 'mtu', '1280'],
  );
  assert.deepEqual(hostRouteArgs('fc00::1', { dev: 'wg0' }), ['fc00::1/128', 'dev', 'wg0']);
  assert.throws(() => hostRouteArgs('10.64.0.1', {}), /no usable route/);
  assert.throws(() => hostRouteArgs('10.64.0.1', { dev: 'wg0', protocol: 'x y' }), /unexpected proto/);
  // Locks come from the text form; rtt and rttvar are milliseconds in the JSON form.
  assert.deepEqual([...lockedMetrics('10.64.0.1 dev wg0 scope link mtu lock 1380 rtt 12ms window lock 9000')], ['mtu', 'window']);
  assert.deepEqual(lockedMetrics('10.64.0.1 dev wg0 scope link mtu 1380'), new Set());
  const restated = hostRouteArgs('10.64.0.1', { dev: 'wg0', metrics: [{ mtu: 1380, rtt: 12, rttvar: 3 }] }, new Set(['mtu']));
  assert.deepEqual(restated, ['10.64.0.1/32', 'dev', 'wg0', 'mtu', 'lock', '1380', 'rtt', '12ms', 'rttvar', '3ms']);
  assert.deepEqual(withoutMtu(restated), ['10.64.0.1/32', 'dev', 'wg0', 'rtt', '12ms', 'rttvar', '3ms']);
  assert.equal(routeAdvmss({ metrics: [{ advmss: 496 }] }), 496);
  assert.equal(routeAdvmss({ dev: 'eth0' }), null);
});

test('MSS guard clamps both ways: advmss for what the relay sends, a locked MTU for what we send', () => {
  assert.deepEqual(clampWords('10.64.0.1', 496), ['advmss', '496', 'mtu', 'lock', '536']);
  assert.deepEqual(clampWords('fc00::1', 496), ['advmss', '496', 'mtu', 'lock', '556']);
});

test('PSK read-back parser: bytes in, keys out, (none) as null, errors without text', () => {
  const a = 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=';
  const b = '0IOqqjztRytqd82uE6nrQ0Y2D5FR3IFkEe2H0SQIbTU=';
  const psk = Buffer.alloc(32, 7);
  const out = parsePresharedKeys('wg0', new TextEncoder().encode(`${a}\t${psk.toString('base64')}\n${b}\t(none)\n`));
  assert.deepEqual([...out.keys()], [a, b]);
  assert.deepEqual(Buffer.from(out.get(a)!), psk);
  assert.equal(out.get(b), null);
  const secretText = psk.toString('base64');
  assert.throws(
    () => parsePresharedKeys('wg0', new TextEncoder().encode(`${a} ${secretText}\n`)),
    (err: Error) => /line 1: expected two tab-separated fields/.test(err.message) && !err.message.includes(secretText),
  );
  assert.throws(() => parsePresharedKeys('wg0', new TextEncoder().encode(`${a}\tshort\n`)), /line 1 preshared key: expected 44 base64 characters, got 5/);
});
