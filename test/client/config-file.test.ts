/**
 * The client's wg-quick file reader refuses `SaveConfig = true`: wg-quick would write the
 * ephemeral key over the parent key on `down`. The refusal says why and what to do, and
 * never repeats the key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { readParentKeys } from '../../src/client/config-file.js';
import { encodeKeyBase64, generatePrivateKey } from '../../src/wg/keys.js';
import { rejection } from '../fixtures/errors.js';

test('a wg-quick file with SaveConfig = true is refused (SETUP, exit 2) with the line, the reason and the fix; the key is never repeated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pqpsk-saveconfig-'));
  const key = generatePrivateKey();
  const text = Buffer.from(encodeKeyBase64('test key', key)).toString('latin1');
  key.fill(0);
  try {
    const path = join(dir, 'wg0.conf');
    await writeFile(path, `[Interface]\nPrivateKey = ${text}\nAddress = 10.64.0.2/32\nSaveConfig = true\n`, { mode: 0o600 });
    const err = await rejection(readParentKeys(['wg0'], new Map([['wg0', path]])));
    assert.equal(err.code, 'SETUP');
    assert.equal(exitCodeFor(err), 2);
    assert.equal(
      err.message,
      `${path} line 4: SaveConfig = true: on \`wg-quick down\` wg-quick would write the ephemeral private key and its PresharedKey into this file in place of the parent key, and the next \`wg-quick up\` would come up on a key the relay has forgotten; set SaveConfig = false (or remove the line), then run pqpsk again`,
    );
    assert.ok(!err.message.includes(text));

    await writeFile(path, `[Interface]\nPrivateKey = ${text}\nSaveConfig = false\n`, { mode: 0o600 });
    const keys = await readParentKeys(['wg0'], new Map([['wg0', path]]));
    assert.equal(Buffer.from(keys.get('wg0')!).toString('base64'), text, 'SaveConfig = false is fine');
    keys.get('wg0')!.fill(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
