/**
 * Fuzz target for the wg-quick config reader (src/client/config-file.ts): file bytes in,
 * the `[Interface]` PrivateKey out — exactly the key a plain line-by-line reading finds —
 * or INVALID_INPUT naming the file and line, never repeating a key.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrivateKey } from '../../src/client/config-file.js';
import { saveConfigLine } from '../../src/wg/quick-file.js';
import { isPqpskError } from '../../src/errors.js';
import { defineTarget, type AnyTarget } from './harness.js';
import { anyText, keyText, mutatedBytes } from './inputs.js';

/** The obvious reading: lines, `#` comments, trimmed, case-insensitive names, the last `[section]`. */
function referenceKeys(text: string, name = 'privatekey'): string[] {
  const keys: string[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (line === '') continue;
    if (line.startsWith('[')) {
      section = line.toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || section !== '[interface]') continue;
    if (line.slice(0, eq).replace(/[ \t\r]+$/, '').toLowerCase() !== name) continue;
    keys.push(line.slice(eq + 1).replace(/^[ \t\r]+/, ''));
  }
  return keys;
}

const configLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('PrivateKey', 'privatekey', 'PRIVATEKEY', 'Private Key', 'PrivateKeys'), fc.constantFrom(' = ', '=', ' =\t', '= '), keyText).map(([n, eq, k]) => `${n}${eq}${k}`) },
  { weight: 1, arbitrary: fc.tuple(keyText, fc.constantFrom('', ' ', '#comment', ' # x', '\r', 'A', '==')).map(([k, tail]) => `PrivateKey = ${k}${tail}`) },
  { weight: 2, arbitrary: fc.constantFrom('[Interface]', '[interface]', '[Peer]', ' [Interface] ', '[Interface', '', '# PrivateKey = x', 'Address = 10.0.0.2/32', 'ListenPort = 51820', 'DNS = 10.0.0.1', 'PublicKey = abc', '\t', '\r') },
  { weight: 1, arbitrary: fc.tuple(keyText, fc.constantFrom('PublicKey', 'PresharedKey')).map(([k, n]) => `${n} = ${k}`) },
  { weight: 1, arbitrary: fc.constantFrom('SaveConfig = true', 'saveconfig=TRUE', 'SaveConfig = false', 'SaveConfig = true # x', 'SaveConfig = truer', 'SaveConfig') },
  { weight: 1, arbitrary: anyText },
);

const configText: fc.Arbitrary<string> = fc.array(configLine, { maxLength: 12 }).map((lines) => lines.join('\n'));

/** The wg-quick reader's fuzz target. */
export function wgQuickTarget(): AnyTarget {
  return defineTarget({
    name: 'wg-quick',
    what: 'wg-quick file bytes → parsePrivateKey: the one [Interface] PrivateKey a plain reading finds, or INVALID_INPUT naming file and line only; saveConfigLine: whether the last SaveConfig line says true',
    sources: ['src/client/config-file.ts', 'src/wg/quick-file.ts'],
    input: fc.oneof(
      { weight: 4, arbitrary: configText.map((t) => new Uint8Array(Buffer.from(t, 'utf8'))) },
      { weight: 3, arbitrary: mutatedBytes(configText.map((t) => new Uint8Array(Buffer.from(t, 'utf8')))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    ),
    smokeRuns: 600,
    check(bytes) {
      const text = Buffer.from(bytes).toString('latin1');
      // SaveConfig: the last such line of [Interface] decides, `true` in any case.
      const saves = referenceKeys(text, 'saveconfig');
      const last = saves.at(-1);
      assert.equal(saveConfigLine(Uint8Array.from(bytes)) !== null, last !== undefined && last.toLowerCase() === 'true', 'SaveConfig = true found exactly when the last SaveConfig line says true');
      const expected = referenceKeys(text);
      let key: Uint8Array;
      try {
        key = parsePrivateKey('wg0.conf', Uint8Array.from(bytes));
      } catch (err) {
        if (!isPqpskError(err, 'INVALID_INPUT')) throw err;
        assert.ok(err.message.startsWith('wg0.conf'), 'names the file');
        for (const k of text.match(/[A-Za-z0-9+/]{43}=/g) ?? []) assert.ok(!err.message.includes(k), 'the message repeats a key');
        const decodable = expected.filter((k) => /^[A-Za-z0-9+/]{43}=$/.test(k));
        assert.ok(expected.length !== 1 || decodable.length === 0 || Buffer.from(decodable[0]!, 'base64').toString('base64') !== decodable[0], 'one well-formed PrivateKey line is read, not refused');
        return;
      }
      assert.equal(expected.length, 1, 'a key comes only from a file with exactly one PrivateKey line');
      assert.equal(Buffer.from(key).toString('base64'), expected[0], 'the key of that line');
      key.fill(0);
    },
  });
}
