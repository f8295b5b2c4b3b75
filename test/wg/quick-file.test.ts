/** The wg-quick SaveConfig reader: which lines count, as wg-quick reads them, and nothing else decoded. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { saveConfigLine } from '../../src/wg/quick-file.js';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

test('SaveConfig = true in [Interface] is found, with its line number', () => {
  assert.equal(saveConfigLine(bytes('[Interface]\nPrivateKey = x\nSaveConfig = true\n')), 3);
  assert.equal(saveConfigLine(bytes('[interface]\n  saveconfig=TRUE   # keep it\n')), 2);
  assert.equal(saveConfigLine(bytes('[Interface]\r\nSaveConfig\t=\ttrue\r\n')), 2);
});

test('anything else is not SaveConfig = true', () => {
  for (const text of [
    '',
    '[Interface]\nSaveConfig = false\n',
    '[Interface]\n# SaveConfig = true\n',
    '[Interface]\nSaveConfig = truest\n',
    '[Peer]\nSaveConfig = true\n',
    'SaveConfig = true\n',
    '[Interface]\nSaveConfigs = true\n',
    '[Interface]\nSaveConfig = true\nSaveConfig = false\n',
  ]) {
    assert.equal(saveConfigLine(bytes(text)), null, JSON.stringify(text));
  }
  // The last line wins, as wg-quick reads the file top to bottom.
  assert.equal(saveConfigLine(bytes('[Interface]\nSaveConfig = false\nSaveConfig = true\n')), 3);
});
