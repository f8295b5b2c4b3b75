/**
 * The relay's small parts, directly: durations, listen addresses, rate limiting, the
 * metrics text, and the book file (atomic, 0600, checked on load).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { EMPTY_BOOK, type RelayBook } from '../../src/protocol/relay-book.js';
import { parseBook } from '../../src/server/book-codec.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { InflightGate, RateLimiter } from '../../src/server/limits.js';
import { defaultListenAddress, parseHostPort } from '../../src/server/listen.js';
import { MemoryLogger, describeError, levelFilter } from '../../src/server/log.js';
import { RelayMetrics } from '../../src/server/metrics.js';
import { unionBook } from '../../src/server/book-keeper.js';
import { seedFromEnv } from '../fuzz/harness.js';
import { wgKeypair } from './helpers.js';

describe('the write-ahead union', () => {
  /** The union as first written: merged lists built for every parent in both books. */
  function reference(older: RelayBook, newer: RelayBook): RelayBook {
    const parents = new Map(older.parents.map((p) => [p.parent, p]));
    for (const p of newer.parents) {
      const old = parents.get(p.parent);
      parents.set(p.parent, old === undefined ? p : { parent: p.parent, allowedIps: [...new Set([...p.allowedIps, ...old.allowedIps])] });
    }
    const ephemerals = new Map(older.ephemerals.map((e) => [e.ephemeral, e]));
    for (const e of newer.ephemerals) ephemerals.set(e.ephemeral, e);
    return { parents: [...parents.values()], ephemerals: [...ephemerals.values()] };
  }

  const seed = seedFromEnv(20_261_128);
  test(`keeps every record of both books, a shared parent with the addresses of both (seed ${seed})`, () => {
    const key = fc.constantFrom('p0', 'p1', 'p2', 'e0', 'e1');
    const ips = fc.array(fc.constantFrom('10.0.0.1/32', '10.0.0.2/32', 'fc00::1/128'), { maxLength: 3 });
    const plain = { noNullPrototype: true };
    const parent = fc.record({ parent: key, allowedIps: ips }, plain);
    const ephemeral = fc.record({ ephemeral: key, parent: key, registeredAt: fc.nat({ max: 3 }) }, plain);
    const book = fc.record({ parents: fc.array(parent, { maxLength: 4 }), ephemerals: fc.array(ephemeral, { maxLength: 4 }) }, plain);
    // Newer books as the relay makes them: mostly the older book's own records.
    const pair = fc.tuple(book, book, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })).map(([older, extra, keep]): [RelayBook, RelayBook] => [
      older,
      {
        parents: [...older.parents.filter((_, i) => keep[i] === true), ...extra.parents],
        ephemerals: [...older.ephemerals.filter((_, i) => keep[i + 4] === true), ...extra.ephemerals],
      },
    ]);
    fc.assert(
      fc.property(pair, ([older, newer]) => {
        assert.deepEqual(unionBook(older, newer), reference(older, newer));
      }),
      { seed, numRuns: 2000 },
    );
  });
});

describe('durations', () => {
  test('operator forms parse to milliseconds', () => {
    assert.equal(parseDuration('--ephemeral-ttl', '90s'), 90_000);
    assert.equal(parseDuration('--ephemeral-ttl', '10m'), 600_000);
    assert.equal(parseDuration('--ephemeral-ttl', '24h'), 86_400_000);
    assert.equal(parseDuration('--ephemeral-ttl', '1h30m'), 5_400_000);
    assert.equal(parseDuration('--ephemeral-ttl', '2d'), 172_800_000);
    assert.equal(formatDuration(86_400_000), '24h');
    assert.equal(formatDuration(120_000), '2m');
  });

  test('bare numbers, junk and tiny values are refused naming the option', () => {
    for (const bad of ['600', '', 'ten minutes', '10 m', '5x', '-5s', '500ms', '1s2']) {
      assert.throws(() => parseDuration('--ephemeral-ttl', bad), { code: 'INVALID_INPUT', message: /^--ephemeral-ttl: / }, bad);
    }
  });
});

describe('listen addresses', () => {
  test('ip:port and [v6]:port; nothing else', () => {
    assert.deepEqual(parseHostPort('--listen', '10.64.0.1:1337'), { host: '10.64.0.1', port: 1337, text: '10.64.0.1:1337' });
    assert.deepEqual(parseHostPort('--listen', '[fc00::1]:1337'), { host: 'fc00::1', port: 1337, text: '[fc00::1]:1337' });
    for (const bad of ['10.64.0.1', ':1337', 'localhost:1337', '10.64.0.1:99999', 'fc00::1:1337', '1.2.3.4:12a']) {
      assert.throws(() => parseHostPort('--listen', bad), { code: 'INVALID_INPUT', message: /^--listen: expected ip:port/ }, bad);
    }
  });

  test('the default is the interface\'s first IPv4 address, port 1337; a missing interface is NOT_FOUND', () => {
    const info = (address: string, family: 'IPv4' | 'IPv6') => ({ address, family, netmask: '', mac: '', internal: false, cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as never;
    const interfaces = { wg0: [info('fc00::1', 'IPv6'), info('10.64.0.1', 'IPv4')], eth0: [info('192.0.2.5', 'IPv4')] };
    assert.equal(defaultListenAddress('wg0', interfaces).text, '10.64.0.1:1337');
    assert.throws(() => defaultListenAddress('wg9', interfaces), { code: 'NOT_FOUND', message: /no network interface wg9/ });
    assert.throws(() => defaultListenAddress('v6only', { v6only: [info('fc00::1', 'IPv6')] }), { code: 'SETUP', message: /no IPv4 address/ });
  });
});

describe('limits', () => {
  test('token bucket: burst, then refill at the set rate', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, perSecond: 1 }, () => now);
    for (let i = 0; i < 3; i++) limiter.take('P');
    assert.throws(() => limiter.take('P'), { code: 'RESOURCE_EXHAUSTED', message: /retry in 1s/ });
    limiter.take('Q');
    now += 999;
    assert.throws(() => limiter.take('P'), { code: 'RESOURCE_EXHAUSTED' });
    now += 1;
    limiter.take('P');
  });

  test('the bucket table stays bounded', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 1, perSecond: 1 }, () => now, 100);
    for (let i = 0; i < 1000; i++) {
      limiter.take(`K${i}`);
      now += 1;
    }
    assert.ok(limiter.size <= 101, `size ${limiter.size}`);
  });

  test('in-flight gate', () => {
    const gate = new InflightGate(1);
    gate.enter();
    assert.throws(() => gate.enter(), { code: 'RESOURCE_EXHAUSTED' });
    gate.leave();
    gate.enter();
    assert.throws(() => new InflightGate(0), { code: 'INVALID_INPUT' });
  });
});

describe('metrics and logs', () => {
  test('Prometheus text: counters by result, cumulative histogram buckets, gauges', () => {
    const m = new RelayMetrics();
    m.setGaugeSource(() => ({ live: 2, pending: 1, inflight: 3 }));
    m.registration('ok', 0.03);
    m.registration('ok', 0.2);
    m.registration('permission_denied', 0.001);
    m.encapsulation('HQC-256', 0.02);
    m.peerEvent('swap');
    m.peerEvent('expired-pending');
    const text = m.render();
    assert.match(text, /^pqpsk_registrations_total\{result="ok"\} 2$/m);
    assert.match(text, /^pqpsk_registrations_total\{result="permission_denied"\} 1$/m);
    assert.match(text, /^pqpsk_registration_duration_seconds_bucket\{le="0.005"\} 1$/m);
    assert.match(text, /^pqpsk_registration_duration_seconds_bucket\{le="0.05"\} 2$/m);
    assert.match(text, /^pqpsk_registration_duration_seconds_bucket\{le="\+Inf"\} 3$/m);
    assert.match(text, /^pqpsk_registration_duration_seconds_count 3$/m);
    assert.match(text, /^pqpsk_encapsulation_seconds_bucket\{algorithm="HQC-256",le="0.025"\} 1$/m);
    assert.match(text, /^pqpsk_ephemeral_peers\{state="live"\} 2$/m);
    assert.match(text, /^pqpsk_ephemeral_peers\{state="pending"\} 1$/m);
    assert.match(text, /^pqpsk_swaps_total\{direction="to_ephemeral"\} 1$/m);
    assert.match(text, /^pqpsk_expiries_total\{reason="no_handshake"\} 1$/m);
    // Every sample line is `name{labels} number` or `name number`.
    for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) {
      assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$/, line);
    }
  });

  test('log level filter and error descriptions that keep only our own messages', () => {
    const mem = new MemoryLogger();
    const log = levelFilter('warn', mem);
    log.log('info', { event: 'x' });
    log.log('error', { event: 'y' });
    assert.deepEqual(mem.records.map((r) => r.record.event), ['y']);
    assert.deepEqual(describeError(new TypeError('secret-looking text')), { code: 'INTERNAL', message: 'unexpected TypeError' });
  });
});

describe('book file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-book-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const P = wgKeypair().publicKey;
  const E = wgKeypair().publicKey;
  const book: RelayBook = {
    parents: [{ parent: P, allowedIps: ['10.64.0.2/32', 'fc00:bbbb::2/128'] }],
    ephemerals: [{ ephemeral: E, parent: P, registeredAt: 1_700_000_000_000 }],
  };

  test('missing file → empty book; save then load round-trips; file 0600 in a 0700 directory, no temporary left', async () => {
    const stateDir = join(dir, 'state');
    const store = new FileBookStore(stateDir, 'wg0');
    assert.deepEqual(await store.load(), EMPTY_BOOK);
    await store.save(book);
    assert.deepEqual(await store.load(), book);
    assert.equal(statSync(store.location).mode & 0o777, 0o600);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(stateDir), ['wg0.book.json']);
    const text = readFileSync(store.location, 'utf8');
    assert.match(text, /"format": "pqpsk-relay-book"/);
  });

  test('a stale temporary file with a loose mode is replaced, never reused', async () => {
    const store = new FileBookStore(dir, 'wg1');
    writeFileSync(`${store.location}.tmp`, 'junk', { mode: 0o644 });
    await store.save(book);
    assert.equal(statSync(store.location).mode & 0o777, 0o600);
    assert.deepEqual(await store.load(), book);
  });

  test('a state directory removed while the relay runs is made again (0700) at the next save', async () => {
    const stateDir = join(dir, 'removed');
    const store = new FileBookStore(stateDir, 'wg3');
    await store.save(book);
    rmSync(stateDir, { recursive: true });
    await store.save(book);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(stateDir), ['wg3.book.json']);
    assert.deepEqual(await store.load(), book);
  });

  test('a damaged file never stops the relay: load keeps what checks out and names what it dropped', async () => {
    const store = new FileBookStore(dir, 'wg2');
    const cases: [string, RegExp, RelayBook][] = [
      ['{', /not valid JSON/, EMPTY_BOOK],
      ['{"format":"other"}', /not a pqpsk-relay-book file/, EMPTY_BOOK],
      [JSON.stringify({ format: 'pqpsk-relay-book', version: 9, parents: [], ephemerals: [] }), /unsupported version 9/, EMPTY_BOOK],
      [JSON.stringify({ format: 'pqpsk-relay-book', version: 1, parents: [{ parent: 'short', allowedIps: [] }], ephemerals: [] }), /parents\[0\] dropped/, EMPTY_BOOK],
      [JSON.stringify({ format: 'pqpsk-relay-book', version: 1, parents: [], ephemerals: [{ ephemeral: E, parent: P, registeredAt: 1 }] }), /ephemerals\[0\] dropped/, EMPTY_BOOK],
      [
        JSON.stringify({ format: 'pqpsk-relay-book', version: 1, parents: [book.parents[0], { parent: P, allowedIps: ['10.0.0.1/32; rm'] }], ephemerals: book.ephemerals }),
        /parents\[1\] dropped/,
        book,
      ],
    ];
    for (const [text, message, salvaged] of cases) {
      writeFileSync(store.location, text, { mode: 0o600 });
      assert.deepEqual(await store.load(), salvaged);
      assert.match(store.problems.join('\n'), message);
      assert.ok(store.problems.every((p) => p.includes(store.location)), 'each problem names the file');
    }
    assert.throws(() => parseBook('x', '[]'), { code: 'STATE_DAMAGED' });
  });
});
