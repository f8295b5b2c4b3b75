/**
 * Every parser that reads bytes from outside, as a fuzz target: what goes in, and what
 * must come out — a value that satisfies the parser's promises, or one of our own
 * labelled errors with the expected code whose message carries no input key. Anything
 * else (another exception, a wrong value, a hang) is a finding.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { isPqpskError, type PqpskErrorCode } from '../../src/errors.js';
import { SUPPORTED_KEM_NAMES, UNIMPLEMENTED_KEM_NAMES, kemSizes } from '../../src/kem/registry.js';
import { matchLength, routeOwner } from '../../src/protocol/cidr.js';
import { canonicalCidr, parseCidr, parseIPv4, parseIPv6 } from '../../src/protocol/ip.js';
import type { RegisterRequestInput } from '../../src/protocol/messages.js';
import { validateRegisterRequest } from '../../src/protocol/request.js';
import { registerPeerMethod } from '../../src/rpc/proto.js';
import { statusForError } from '../../src/rpc/status.js';
import { status as Status } from '@grpc/grpc-js';
import { MemoryBookStore } from '../fixtures/memory-book-store.js';
import { parseBook, serializeBook } from '../../src/server/book-codec.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { maskDumpSecrets, parseDump } from '../../src/testbed/wg-dump.js';
import { latestHandshakesParser } from '../../src/wg/per-peer-parse.js';
import { isPublicKeyText } from '../../src/wg/keys.js';
import { startRelayService, type RelayService } from '../../src/server/service.js';
import { parseHostPort } from '../../src/server/listen.js';
import { MemoryLogger } from '../../src/server/log.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { decodeRegisterRequest } from '../../src/rpc/server.js';
import { grpcFrame, rawGrpcCall, rawTcpBytes } from '../fixtures/raw-grpc.js';
import { IFACE, P_IPS, provider, wgKeypair } from '../server/helpers.js';
import { defineTarget, type AnyTarget } from './harness.js';
import { wgQuickTarget } from './wg-quick.js';
import { addressText, anyText, keyText, mutatedBytes, mutatedText, numberText } from './inputs.js';

/** The error must be ours, with one of `codes`, and its message must not repeat any key-like field of the input. */
function expectRefusal(err: unknown, codes: readonly PqpskErrorCode[], secrets: readonly string[] = []): void {
  if (!isPqpskError(err) || !codes.includes(err.code)) throw err;
  assert.ok(err.message.length <= 400, `message of ${err.message.length} characters`);
  for (const s of secrets) assert.ok(!err.message.includes(s), 'the message repeats a key from the input');
}

/** The parser's value, or null once its refusal has passed expectRefusal. */
function parsedOrRefused<T>(parse: () => T, codes: readonly PqpskErrorCode[], secrets: readonly string[] = []): T | null {
  try {
    return parse();
  } catch (err) {
    expectRefusal(err, codes, secrets);
    return null;
  }
}

/** Fields of the input that look like keys: an error message must never carry them. */
function keyLike(text: string): string[] {
  return text.split(/[\t\n,"]/).filter((f) => f.length >= 43 && /^[A-Za-z0-9+/]{43}=?$/.test(f));
}

/** `value` most of the time (`weight` to 1), otherwise one of `other`. */
function usually<T, U>(value: T, other: fc.Arbitrary<U>, weight = 8): fc.Arbitrary<T | U> {
  return fc.oneof({ weight, arbitrary: fc.constant(value) }, { weight: 1, arbitrary: other });
}

/** `n` bytes quickly (HQC-256 keys are 7 KB; drawing each byte from an arbitrary is slow). */
function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sizedKey = (exact: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(exact) }, fc.constantFrom(0, 1, exact - 1, exact + 1), fc.nat(64)), fc.integer())
    .map(([n, seed]) => patternBytes(n, seed));

const kemName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SUPPORTED_KEM_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...UNIMPLEMENTED_KEM_NAMES, 'Kyber1024', 'ml-kem-1024', '') },
  { weight: 1, arbitrary: anyText },
);

const kemEntry = kemName.chain((name) => {
  let exact = 1568;
  try {
    exact = kemSizes(name).publicKey;
  } catch {
    // Not a KEM we know: any length will do.
  }
  return sizedKey(exact).map((key_data) => ({ algorithm_name: name, key_data }));
});

/** A request message as a client (honest or not) would have the serializer write it. */
const requestMessage: fc.Arbitrary<RegisterRequestInput> = fc
  .record({
    parent: sizedKey(32),
    ephemeral: sizedKey(32),
    same: fc.boolean(),
    pq: fc.option(fc.array(kemEntry, { maxLength: 4 }), { freq: 6 }),
    daita: usually(null, fc.record({ activate_daita: fc.boolean() }), 4),
    daitaV2: usually(null, fc.record({ version: fc.nat(5), platform: fc.nat(10), level: fc.nat(12) }), 4),
  })
  .map((r) => ({
    wg_parent_pubkey: r.parent,
    wg_ephemeral_peer_pubkey: r.same ? r.parent : r.ephemeral,
    post_quantum: r.pq === null ? null : { kem_pubkeys: r.pq },
    daita: r.daita,
    daita_v2: r.daitaV2,
  }));

const encodedRequest = requestMessage.map((m) => new Uint8Array(registerPeerMethod().requestSerialize(m)));

/** Bytes a client could put in a RegisterPeerV1 message: encodings, damaged encodings, noise. */
export const requestBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: encodedRequest },
  { weight: 4, arbitrary: mutatedBytes(encodedRequest) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array([0]), new Uint8Array(0), new Uint8Array([0x0a]), new Uint8Array([0xff])) },
);

/** The outcome of the relay's decode-and-validate path for `bytes`: a status, never INTERNAL. */
export function checkRequestBytes(bytes: Uint8Array): void {
  const decoded = decodeRegisterRequest(Buffer.from(bytes));
  let valid;
  try {
    valid = validateRegisterRequest(decoded);
  } catch (err) {
    const keys = 'undecodable' in decoded ? [] : [decoded.wg_parent_pubkey, decoded.wg_ephemeral_peer_pubkey].filter((k) => k.length >= 16);
    expectRefusal(err, ['INVALID_INPUT', 'UNSUPPORTED_ALGORITHM', 'UNSUPPORTED_FEATURE'], keys.flatMap((k) => [k.toString('base64'), k.toString('hex')]));
    const { code, details } = statusForError(err);
    assert.ok(code === Status.INVALID_ARGUMENT || code === Status.UNIMPLEMENTED, `status ${code}`);
    assert.match(details, /^[\x20-\x7e…]{1,400}$/, 'details are short printable text');
    return;
  }
  assert.equal(valid.parentKey.length, 32);
  assert.equal(valid.ephemeralKey.length, 32);
  assert.ok(!Buffer.from(valid.parentKey).equals(Buffer.from(valid.ephemeralKey)));
  assert.ok(valid.kems.length >= 1);
  assert.equal(new Set(valid.kems.map((k) => k.name)).size, valid.kems.length, 'distinct algorithms');
  for (const k of valid.kems) assert.equal(k.publicKey.length, kemSizes(k.name).publicKey);
}

const dumpPeerLine = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: keyText }, anyText),
    fc.oneof(keyText, fc.constant('(none)'), anyText),
    fc.oneof(fc.constant('(none)'), fc.tuple(fc.ipV4(), fc.nat(65535)).map(([ip, port]) => `${ip}:${port}`), fc.constant(''), anyText),
    fc.oneof(fc.constant('(none)'), fc.array(addressText, { minLength: 1, maxLength: 3 }).map((a) => a.join(',')), anyText),
    numberText,
    numberText,
    numberText,
    fc.oneof(fc.constant('off'), numberText),
  )
  .map((f) => f.join('\t'));

const dumpText: fc.Arbitrary<string> = fc
  .tuple(
    fc.tuple(fc.oneof(keyText, fc.constant('(none)')), fc.oneof({ weight: 5, arbitrary: keyText }, fc.constant('(none)'), anyText), numberText, fc.oneof(fc.constant('off'), numberText)),
    fc.array(dumpPeerLine, { maxLength: 5 }),
    fc.boolean(),
  )
  .map(([head, peers, newline]) => [head.join('\t'), ...peers].join('\n') + (newline ? '\n' : ''));

const anyDump: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: dumpText }, { weight: 4, arbitrary: mutatedText(dumpText) }, { weight: 1, arbitrary: anyText });

/** `wg show dump`: parsed peers keep every promise of WgPeer, or a WG_FAILURE names line and field only. */
function checkDump(text: string): void {
  const state = parsedOrRefused(() => parseDump('wg0', text), ['WG_FAILURE'], keyLike(text));
  if (state === null) return;
  assert.ok(state.publicKey === '' || isPublicKeyText(state.publicKey));
  assert.equal(state.peers.length, text.replace(/\n$/, '').split('\n').length - 1);
  for (const p of state.peers) {
    assert.ok(isPublicKeyText(p.publicKey));
    for (const n of [p.latestHandshake, p.rxBytes, p.txBytes]) assert.ok(Number.isSafeInteger(n) && n >= 0);
    assert.ok(p.persistentKeepalive === null || Number.isSafeInteger(p.persistentKeepalive));
    assert.ok(p.endpoint === null || p.endpoint.length > 0);
  }
  // Masking the secret fields changes nothing that the parser returns.
  if (/^[\x00-\x7f]*$/.test(text)) {
    const bytes = Buffer.from(text, 'latin1');
    maskDumpSecrets(bytes);
    assert.deepEqual(parseDump('wg0', bytes.toString('latin1')), state);
    const lines = bytes.toString('latin1').split('\n');
    lines.forEach((line, i) => {
      const secret = line.split('\t')[i === 0 ? 0 : 1];
      if (secret !== undefined && secret !== '(none)') assert.match(secret, /^\**$/, `line ${i + 1}: secret field masked`);
    });
  }
}

const handshakesText: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.tuple(fc.oneof({ weight: 5, arbitrary: keyText }, anyText), numberText), { maxLength: 5 }), fc.boolean())
  .map(([lines, newline]) => lines.map((l) => l.join('\t')).join('\n') + (newline && lines.length > 0 ? '\n' : ''));

function checkHandshakes(text: string): void {
  const map = parsedOrRefused(() => latestHandshakesParser('wg0', text).finish(), ['WG_FAILURE'], keyLike(text));
  if (map === null) return;
  for (const [key, seconds] of map) {
    assert.ok(isPublicKeyText(key));
    assert.ok(Number.isSafeInteger(seconds) && seconds >= 0);
  }
}

const bookValue: fc.Arbitrary<unknown> = fc
  .record({
    format: fc.oneof({ weight: 8, arbitrary: fc.constant('pqpsk-relay-book') }, fc.constant('other'), fc.constant(null)),
    version: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, fc.constant(2), fc.constant('1')),
    parents: fc.array(
      fc.record({
        parent: fc.oneof({ weight: 6, arbitrary: keyText }, anyText, fc.constant(null)),
        allowedIps: fc.oneof({ weight: 6, arbitrary: fc.array(addressText, { maxLength: 3 }) }, fc.constant('10.0.0.1/32'), fc.array(fc.nat())),
      }),
      { maxLength: 3 },
    ),
    ephemerals: fc.array(
      fc.record({
        ephemeral: fc.oneof({ weight: 6, arbitrary: keyText }, anyText),
        parent: fc.oneof(keyText, anyText),
        registeredAt: fc.oneof({ weight: 6, arbitrary: fc.nat() }, fc.double(), fc.constant('0'), fc.constant(null)),
      }),
      { maxLength: 3 },
    ),
  })
  .chain((book) => {
    // Half the time, ephemerals name a recorded parent, as a real book does.
    const parents = (book.parents as { parent: unknown }[]).map((p) => p.parent);
    return fc.boolean().map((link) => {
      if (!link || parents.length === 0) return book;
      const ephemerals = (book.ephemerals as Record<string, unknown>[]).map((e, i) => ({ ...e, parent: parents[i % parents.length] }));
      return { ...book, ephemerals };
    });
  });

const bookText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: bookValue.map((b) => JSON.stringify(b, null, 1)) },
  { weight: 4, arbitrary: mutatedText(bookValue.map((b) => JSON.stringify(b, null, 1))) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: anyText },
);

/** The book loader on a real file: a book that loads round-trips, or a STATE_DAMAGED (or SETUP) error names the file. */
function bookTarget(): AnyTarget {
  let dir = '';
  let store: FileBookStore;
  return defineTarget({
    name: 'book',
    what: 'relay book file text → FileBookStore.load: a consistent book, or STATE_DAMAGED/SETUP naming the file',
    sources: ['src/server/book-codec.ts', 'src/server/file-book-store.ts'],
    // One input in sixteen goes through a real file; the rest through the parser the loader calls.
    input: fc.record({ text: bookText, viaFile: usually(false, fc.constant(true), 15) }),
    smokeRuns: 400,
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'pqpsk-fuzz-book-'));
      store = new FileBookStore(dir, 'wg0');
      return () => rm(dir, { recursive: true, force: true });
    },
    async check({ text, viaFile }) {
      let book;
      try {
        if (viaFile) {
          await writeFile(store.location, text, { mode: 0o600 });
          book = await store.load();
        } else {
          book = parseBook(store.location, text);
        }
      } catch (err) {
        expectRefusal(err, ['STATE_DAMAGED', 'SETUP'], keyLike(text));
        assert.ok((err as Error).message.includes(store.location), 'names the file');
        return;
      }
      const parents = new Set(book.parents.map((p) => p.parent));
      for (const p of book.parents) {
        assert.ok(isPublicKeyText(p.parent));
        for (const ip of p.allowedIps) assert.equal(canonicalCidr('again', ip), ip, 'a recorded address is one `wg set` takes and `wg show` prints alike');
      }
      for (const e of book.ephemerals) {
        assert.ok(isPublicKeyText(e.ephemeral));
        assert.ok(parents.has(e.parent), 'an ephemeral names a recorded parent');
        assert.ok(Number.isFinite(e.registeredAt) && e.registeredAt >= 0);
      }
      assert.deepEqual(parseBook('again', JSON.stringify(serializeBook(book))), book, 'what loads saves and loads back the same');
    },
  });
}

const durationText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.nat(1000).map(String), fc.double({ min: 0, max: 1e6, noNaN: true }).map(String), numberText), fc.constantFrom('ms', 's', 'm', 'h', 'd', '', 'S', 'y', ' ')), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.map(([n, u]) => n + u).join('')),
  },
  { weight: 2, arbitrary: mutatedText(fc.constantFrom('90s', '10m', '24h', '1h30m', '1.5s', '500ms')) },
  { weight: 1, arbitrary: anyText },
);

function checkDuration(input: { text: string; minMs: number }): void {
  let ms;
  try {
    ms = parseDuration('--ephemeral-ttl', input.text, input.minMs);
  } catch (err) {
    expectRefusal(err, ['INVALID_INPUT']);
    assert.match((err as Error).message, /^--ephemeral-ttl: [\x20-\x7e…]{1,120}$/);
    return;
  }
  assert.ok(Number.isInteger(ms) && ms >= input.minMs, `${ms} ms`);
  assert.equal(parseDuration('again', formatDuration(ms), input.minMs), ms, 'formatDuration reads back as the same duration');
}

/** The one known difference from inet_pton: leading zeros in a dotted quad (`01.2.3.4`) are accepted here. */
function dottedQuadWithLeadingZero(text: string): boolean {
  return /(^|[.:])0\d/.test(text);
}

function checkAddress(text: string): void {
  const bare = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  const v4 = parseIPv4(bare);
  const v6 = parseIPv6(bare);
  // A zone (`%eth0`) is part of an address for inet_pton's callers but never of an allowed-ip.
  if (!dottedQuadWithLeadingZero(bare) && !bare.includes('%')) {
    assert.equal(v4 !== null, isIPv4(bare), 'parseIPv4 agrees with inet_pton');
    assert.equal(v6 !== null, isIPv6(bare), 'parseIPv6 agrees with inet_pton');
  }
  let canonical;
  try {
    canonical = canonicalCidr('allowed-ip', text);
  } catch (err) {
    expectRefusal(err, ['INVALID_INPUT']);
    assert.match((err as Error).message, /^allowed-ip: /);
    return;
  }
  assert.equal(canonicalCidr('again', canonical), canonical, 'canonical text is a fixed point');
  const parsed = parseCidr('again', canonical);
  const ip = canonical.slice(0, canonical.indexOf('/'));
  assert.ok(parsed.family === 4 ? isIPv4(ip) : isIPv6(ip), 'canonical address is one inet_pton reads');
  assert.equal(matchLength(canonical, ip), parsed.prefix, 'a prefix contains its own network address');
}

/** The route owner by brute force over every peer's prefixes: the obviously-correct reference. */
function referenceOwner(peers: readonly { publicKey: string; allowedIps: readonly string[] }[], ip: string): string | null {
  let best: { key: string; length: number } | null = null;
  for (const p of peers) {
    for (const cidr of p.allowedIps) {
      const length = matchLength(cidr, ip);
      if (length >= 0 && (best === null || length > best.length)) best = { key: p.publicKey, length };
    }
  }
  return best?.key ?? null;
}

const routeInput = fc.record({
  peers: fc.array(fc.record({ publicKey: fc.string({ minLength: 1, maxLength: 3 }), allowedIps: fc.array(addressText, { maxLength: 3 }) }), { maxLength: 5 }),
  ip: addressText,
});

type PortInput =
  | { kind: 'grpc'; payload: Uint8Array; compressed: boolean; lie: number; encoding: string | undefined; path: string | undefined; contentType: string | undefined }
  | { kind: 'tcp'; bytes: Uint8Array };

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const portInput: fc.Arbitrary<PortInput> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('grpc' as const),
      payload: requestBytes,
      compressed: fc.boolean(),
      lie: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: -8, max: 8 })),
      encoding: usually(undefined, fc.constantFrom('identity', 'gzip', 'deflate', 'snappy'), 2),
      path: usually(undefined, fc.constantFrom('/ephemeralpeer.EphemeralPeer/RegisterPeerV2', '/', '/ephemeralpeer.EphemeralPeer/RegisterPeerV1/x')),
      contentType: usually(undefined, fc.constantFrom('application/grpc+proto', 'application/json', 'text/plain')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tcp' as const),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([HTTP2_PREFACE, b]))),
    }),
  },
);

/** The length prefix `lie` bytes off the truth (clamped at 0). */
function framed(input: Extract<PortInput, { kind: 'grpc' }>): Buffer {
  const frame = grpcFrame(input.payload, input.compressed);
  frame.writeUInt32BE(Math.max(0, input.payload.length + input.lie), 1);
  return frame;
}

/**
 * Any bytes on a running relay service's port, over loopback: a gRPC call gets a status,
 * a connection that is not HTTP/2 is closed, and neither ever reaches the relay as a fault
 * of its own (no INTERNAL registration, no stack in its log). The service runs on the
 * in-memory wg with in-thread KEMs.
 */
function portTarget(): AnyTarget {
  let wg: FakeWgControl;
  let logger: MemoryLogger;
  let service: RelayService;
  let sent = 0;
  return defineTarget<PortInput>({
    name: 'relay-port',
    what: 'any bytes on the relay port (gRPC-framed or raw TCP) → a status or a closed connection, never a hang, never the relay\'s own INTERNAL',
    sources: ['src/rpc/server.ts', 'src/server/relay.ts', 'src/server/admission.ts', 'src/server/service.ts'],
    input: portInput,
    smokeRuns: 120,
    async setup() {
      wg = new FakeWgControl();
      wg.addInterface(IFACE, { privateKey: wgKeypair().privateKey });
      await wg.set(IFACE, { peers: [{ publicKey: wgKeypair().publicKey, allowedIps: [...P_IPS] }] });
      logger = new MemoryLogger();
      service = await startRelayService({ iface: IFACE, listen: parseHostPort('listen', '127.0.0.1:0'), wg, store: new MemoryBookStore(), logger, kems: provider, rateLimit: null });
      return () => service.stop();
    },
    async check(input) {
      // Each input from the next loopback address: the relay closes the connections of a
      // source that spent its budget of refused requests, and a fuzzer is all refusals.
      const source = `127.0.0.${2 + (sent++ % 250)}`;
      if (input.kind === 'tcp') {
        // Garbage is closed at once; a valid preface with a partial frame may wait for the
        // rest until the idle limit. Either way the relay must go on answering others.
        if ((await rawTcpBytes(service.address, input.bytes, 300, source)) === 'open') {
          const probe = await rawGrpcCall(service.address, grpcFrame(new Uint8Array([0])), { timeoutMs: 1500, localAddress: source });
          assert.equal(probe.status, Status.INVALID_ARGUMENT, 'the relay still answers while a connection waits');
        }
      } else {
        const answer = await rawGrpcCall(service.address, framed(input), {
          timeoutMs: 5000,
          localAddress: source,
          ...(input.encoding === undefined ? {} : { encoding: input.encoding }),
          ...(input.path === undefined ? {} : { path: input.path }),
          ...(input.contentType === undefined ? {} : { contentType: input.contentType }),
        });
        const closedAsOverBudget = answer.status === null && !service.relay.acceptsSource(source);
        assert.ok(answer.status !== null || (answer.httpStatus !== null && answer.httpStatus !== 200) || closedAsOverBudget, `an answer: ${JSON.stringify(answer)}`);
        assert.notEqual(answer.status, Status.OK, 'no random message registers (the sender is not a known parent)');
        if (answer.status === Status.INTERNAL) assert.match(answer.message, /decompress/i, 'INTERNAL only for what fails to decompress');
      }
      for (const { record } of logger.records.splice(0)) {
        assert.notEqual(record['result'], 'internal', 'garbage never reaches the relay as a fault of its own');
        assert.ok(!JSON.stringify(record).includes('    at '), 'no stack trace in the log');
      }
    },
  });
}

/** The fuzz targets, in the order `npm run fuzz` runs them. */
export function fuzzTargets(): AnyTarget[] {
  return [
    defineTarget({
      name: 'request',
      what: 'RegisterPeerV1 bytes → the server deserializer → validation → status: INVALID_ARGUMENT/UNIMPLEMENTED or a valid request, never INTERNAL',
      sources: ['src/protocol/request.ts', 'src/rpc/server.ts', 'src/rpc/status.ts', 'src/kem/registry.ts'],
      input: requestBytes,
      check: checkRequestBytes,
      smokeRuns: 600,
    }),
    defineTarget({ name: 'wg-dump', what: '`wg show dump` text → parseDump (+ maskDumpSecrets): typed peers or WG_FAILURE without keys', sources: ['src/testbed/wg-dump.ts'], input: anyDump, check: checkDump, smokeRuns: 600 }),
    defineTarget({
      name: 'wg-handshakes',
      what: '`wg show latest-handshakes` text → latestHandshakesParser: key → seconds or WG_FAILURE',
      sources: ['src/wg/per-peer-parse.ts'],
      input: fc.oneof(handshakesText, mutatedText(handshakesText), anyText),
      check: checkHandshakes,
      smokeRuns: 400,
    }),
    bookTarget(),
    wgQuickTarget(),
    defineTarget({
      name: 'duration',
      what: 'CLI duration text → parseDuration: whole ms ≥ the minimum that formatDuration reads back, or INVALID_INPUT',
      sources: ['src/cli/duration.ts'],
      input: fc.record({ text: durationText, minMs: fc.constantFrom(0, 1, 1000, 60_000) }),
      check: checkDuration,
      smokeRuns: 600,
    }),
    defineTarget({
      name: 'address',
      what: 'address/prefix text → parseIPv4/parseIPv6 (against inet_pton), canonicalCidr (a fixed point) or INVALID_INPUT',
      sources: ['src/protocol/ip.ts', 'src/protocol/cidr.ts'],
      input: fc.oneof(addressText, mutatedText(addressText), anyText),
      check: checkAddress,
      smokeRuns: 800,
    }),
    portTarget(),
    defineTarget({
      name: 'route',
      what: 'peers + source address → routeOwner: the longest-prefix owner a brute-force reference finds',
      sources: ['src/protocol/cidr.ts'],
      input: routeInput,
      check: ({ peers, ip }) => assert.equal(routeOwner(peers, ip), referenceOwner(peers, ip)),
      smokeRuns: 400,
    }),
  ];
}
