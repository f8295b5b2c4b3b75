import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import {
  checkPublicKeyText,
  clampPrivateKey,
  decodeKeyBase64,
  encodeKeyBase64,
  generatePrivateKey,
  isPublicKeyText,
  publicKeyOf,
  publicKeyToText,
} from '../../src/wg/keys.js';
import { testKey } from './helpers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('base64 key codec matches Buffer for many keys and round-trips', () => {
  for (let seed = 0; seed < 64; seed++) {
    const key = testKey(seed);
    const text = encodeKeyBase64('k', key);
    assert.equal(new TextDecoder().decode(text), Buffer.from(key).toString('base64'));
    assert.deepEqual(decodeKeyBase64('k', text), key);
  }
  assert.equal(new TextDecoder().decode(encodeKeyBase64('k', new Uint8Array(32).fill(255), true)), `${'/'.repeat(42)}8=\n`);
});

test('decode ignores surrounding whitespace (wg prints a newline)', () => {
  const key = testKey(3);
  const text = ` ${Buffer.from(key).toString('base64')}\n`;
  assert.deepEqual(decodeKeyBase64('k', ascii(text)), key);
});

test('decode errors name the field and length, never the text', () => {
  const bad = ['short', `${'A'.repeat(43)}`, `${'A'.repeat(42)}!=`, `${'A'.repeat(42)}B=`];
  for (const text of bad) {
    assert.throws(
      () => decodeKeyBase64('private key of wg0', ascii(text)),
      (err: unknown) => isPqpskError(err, 'INVALID_INPUT') && err.message.startsWith('private key of wg0:') && !err.message.includes(text),
    );
  }
});

test('encode checks the key length with a labelled error', () => {
  assert.throws(() => encodeKeyBase64('preshared key', new Uint8Array(31)), /preshared key: expected 32 bytes, got 31/);
});

test('public-key text check accepts wg keys only', () => {
  assert.equal(isPublicKeyText('OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA='), true);
  assert.equal(isPublicKeyText('OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGB='), false); // non-canonical tail
  assert.equal(isPublicKeyText('(none)'), false);
  assert.throws(() => checkPublicKeyText('peer 1 public key', 'abc'), /peer 1 public key: expected a 44-character base64 WireGuard key, got 3 characters/);
});

test('X25519 public key: RFC 7748 §6.1 vector', () => {
  const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const alicePub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.deepEqual(publicKeyOf(alicePriv), alicePub);
  assert.equal(publicKeyToText(alicePub), Buffer.from(alicePub).toString('base64'));
});

test('clamping matches what wireguard-go reports back for an all-ones key', () => {
  // Recorded: `wg set IF private-key <32 x 0xff>` then `wg show IF private-key`.
  const clamped = clampPrivateKey(new Uint8Array(32).fill(255));
  assert.equal(Buffer.from(clamped).toString('base64'), '+P///////////////////////////////////////38=');
  // Recorded alongside: the public key wg derived.
  assert.equal(publicKeyToText(publicKeyOf(clamped)), 'hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=');
});

test('generated private keys are clamped, distinct and 32 bytes', () => {
  const a = generatePrivateKey();
  const b = generatePrivateKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  assert.deepEqual(clampPrivateKey(a), a);
});
