/**
 * Fuzz target for the parent-key reader (src/client/config-file.ts): file bytes in — a
 * wg-quick file, a systemd-networkd .netdev or a raw `wg genkey` file, whole or broken —
 * and out exactly what a plain line-by-line reading finds (the one PrivateKey of
 * `[Interface]` or `[WireGuard]`, the one PrivateKeyFile of `[WireGuard]`, or the whole
 * file as one key when it has no section), or INVALID_INPUT naming the file, never
 * repeating a key; and whether the file asks wg-quick to write it back (`SaveConfig =
 * true`, the last such line of `[Interface]` deciding).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseKeySource } from '../../src/client/config-file.js';
import { saveConfigLine } from '../../src/wg/quick-file.js';
import { isPqpskError } from '../../src/errors.js';
import { defineTarget, type AnyTarget } from './harness.js';
import { anyText, keyText, mutatedBytes } from './inputs.js';

interface Entry {
  readonly file: boolean;
  readonly value: string;
}

/** The obvious reading: lines, `#` comments and `;` comment lines, trimmed, case-insensitive names, the last `[section]`. */
function referenceReading(text: string): { entries: Entry[]; sections: boolean } {
  const entries: Entry[] = [];
  let section = '';
  let sections = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line.toLowerCase();
      sections = true;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || (section !== '[interface]' && section !== '[wireguard]')) continue;
    const name = line.slice(0, eq).replace(/[ \t\r]+$/, '').toLowerCase();
    const value = line.slice(eq + 1).replace(/^[ \t\r]+/, '');
    if (name === 'privatekey') entries.push({ file: false, value });
    else if (name === 'privatekeyfile' && section === '[wireguard]') entries.push({ file: true, value });
  }
  return { entries, sections };
}

/** The obvious reading of SaveConfig: the values of `[Interface]` SaveConfig lines, in order. */
function referenceSaveConfig(text: string): string[] {
  const values: string[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line.toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || section !== '[interface]') continue;
    if (line.slice(0, eq).replace(/[ \t\r]+$/, '').toLowerCase() === 'saveconfig') values.push(line.slice(eq + 1).replace(/^[ \t\r]+/, ''));
  }
  return values;
}

const canonicalKey = (k: string): boolean => /^[A-Za-z0-9+/]{43}=$/.test(k) && Buffer.from(k, 'base64').toString('base64') === k;

const configLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('PrivateKey', 'privatekey', 'PRIVATEKEY', 'Private Key', 'PrivateKeys'), fc.constantFrom(' = ', '=', ' =\t', '= '), keyText).map(([n, eq, k]) => `${n}${eq}${k}`) },
  { weight: 1, arbitrary: fc.tuple(keyText, fc.constantFrom('', ' ', '#comment', ' # x', '\r', 'A', '==')).map(([k, tail]) => `PrivateKey = ${k}${tail}`) },
  { weight: 2, arbitrary: fc.constantFrom('[Interface]', '[interface]', '[Peer]', ' [Interface] ', '[Interface', '', '# PrivateKey = x', 'Address = 10.0.0.2/32', 'ListenPort = 51820', 'DNS = 10.0.0.1', 'PublicKey = abc', '\t', '\r') },
  { weight: 2, arbitrary: fc.constantFrom('[NetDev]', '[WireGuard]', '[wireguard]', '[WireGuardPeer]', 'Kind=wireguard', 'Name=wg0', 'ListenPort=51820', '; PrivateKey=x', 'PrivateKeyFile=/etc/systemd/network/wg0.key', 'PrivateKeyFile = /k', 'PrivateKeyFile=relative/k', 'PrivateKeyFile=') },
  { weight: 1, arbitrary: fc.tuple(keyText, fc.constantFrom('PrivateKey=', 'privatekey = ', ';PrivateKey=', 'PresharedKey=')).map(([k, n]) => `${n}${k}`) },
  { weight: 1, arbitrary: fc.tuple(keyText, fc.constantFrom('PublicKey', 'PresharedKey')).map(([k, n]) => `${n} = ${k}`) },
  { weight: 1, arbitrary: fc.constantFrom('SaveConfig = true', 'saveconfig=TRUE', 'SaveConfig = false', 'SaveConfig = true # x', 'SaveConfig = truer', 'SaveConfig', '; SaveConfig = true') },
  { weight: 1, arbitrary: anyText },
);

const configText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(configLine, { maxLength: 12 }).map((lines) => lines.join('\n')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('', ' ', '\n'), keyText, fc.constantFrom('', '\n', ' \n', '\r\n', '\n\n', '\nx')).map(([a, k, b]) => `${a}${k}${b}`) },
);

/** The parent-key reader's fuzz target. */
export function wgQuickTarget(): AnyTarget {
  return defineTarget({
    name: 'wg-quick',
    what: 'wg-quick / .netdev / raw key bytes → parseKeySource: the one key or key file a plain reading finds, or INVALID_INPUT naming the file only; saveConfigLine: whether the last SaveConfig line says true',
    sources: ['src/client/config-file.ts', 'src/wg/quick-file.ts'],
    input: fc.oneof(
      { weight: 4, arbitrary: configText.map((t) => new Uint8Array(Buffer.from(t, 'utf8'))) },
      { weight: 3, arbitrary: mutatedBytes(configText.map((t) => new Uint8Array(Buffer.from(t, 'utf8')))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    ),
    smokeRuns: 600,
    check(bytes) {
      const text = Buffer.from(bytes).toString('latin1');
      const last = referenceSaveConfig(text).at(-1);
      assert.equal(saveConfigLine(Uint8Array.from(bytes)) !== null, last !== undefined && last.toLowerCase() === 'true', 'SaveConfig = true found exactly when the last SaveConfig line says true');
      const { entries, sections } = referenceReading(text);
      const raw = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      let source;
      try {
        source = parseKeySource('wg0.conf', Uint8Array.from(bytes));
      } catch (err) {
        if (!isPqpskError(err, 'INVALID_INPUT')) throw err;
        assert.ok(err.message.startsWith('wg0.conf'), 'names the file');
        for (const k of text.match(/[A-Za-z0-9+/]{43}=/g) ?? []) assert.ok(!err.message.includes(k), 'the message repeats a key');
        const only = entries.length === 1 ? entries[0]! : undefined;
        assert.ok(!(only !== undefined && !only.file && canonicalKey(only.value)), 'one well-formed PrivateKey line is read, not refused');
        assert.ok(!(only?.file === true && only.value.startsWith('/')), 'one absolute PrivateKeyFile is read, not refused');
        assert.ok(!(entries.length === 0 && !sections && canonicalKey(raw)), 'a file that is one key is read, not refused');
        return;
      }
      if (entries.length === 0) {
        assert.ok(!sections, 'a key without a PrivateKey line only from a file without sections');
        assert.equal(source.format, 'raw');
        assert.ok('key' in source);
        assert.equal(Buffer.from(source.key).toString('base64'), raw, 'the whole file is the key');
        source.key.fill(0);
        return;
      }
      assert.equal(entries.length, 1, 'a key comes only from a file with exactly one PrivateKey or PrivateKeyFile line');
      const entry = entries[0]!;
      if ('key' in source) {
        assert.ok(!entry.file);
        assert.equal(Buffer.from(source.key).toString('base64'), entry.value, 'the key of that line');
        source.key.fill(0);
      } else {
        assert.ok(entry.file);
        assert.equal(source.keyFile, new TextDecoder().decode(Buffer.from(entry.value, 'latin1')), 'the path of that line');
      }
    },
  });
}
