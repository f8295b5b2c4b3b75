/**
 * Where users keep the parent key, as `--config-file` reads it: a wg-quick file, a
 * systemd-networkd .netdev with `PrivateKey=` or `PrivateKeyFile=`, and a raw `wg genkey`
 * file — each read, each broken one refused with a message that names the file and line
 * and never repeats the key. A wg-quick file with `SaveConfig = true` is refused: wg-quick
 * would write the ephemeral key over the parent key on `down`.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { parseKeySource, readParentKey, readParentKeys } from '../../src/client/config-file.js';
import { isPqpskError } from '../../src/errors.js';
import { encodeKeyBase64, generatePrivateKey } from '../../src/wg/keys.js';
import { rejection } from '../fixtures/errors.js';

const key = generatePrivateKey();
const keyText = Buffer.from(key).toString('base64');
const other = Buffer.from(generatePrivateKey()).toString('base64');

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pqpsk-config-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, body: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body, { mode });
  await chmod(path, mode);
  return path;
}

/** The error `promise` rejects with; it must not contain either key, whole or in part. */
async function refusal(promise: Promise<unknown>): Promise<Error & { code: string }> {
  const err = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(isPqpskError(err), String(err));
  for (const k of [keyText, other]) {
    assert.ok(!err.message.includes(k.slice(0, 12)) && !err.message.includes(k.slice(20, 32)), `the message repeats a key: ${err.message}`);
  }
  return err;
}

const wgQuick = `[Interface]
# the client's tunnel
PrivateKey = ${keyText}
Address = 10.8.0.2/32
PostUp = pqpsk negotiate --interface %i --watch --background

[Peer]
PublicKey = ${other}
AllowedIPs = 0.0.0.0/0
`;

const netdev = (line: string): string => `[NetDev]
Name=wg0
Kind=wireguard
; networkd's own comment style
[WireGuard]
${line}
ListenPort=51820

[WireGuardPeer]
PublicKey=${other}
PresharedKey=${other}
AllowedIPs=0.0.0.0/0
`;

test('a wg-quick file: the [Interface] PrivateKey', async () => {
  assert.deepEqual(await readParentKey(await file('wg0.conf', wgQuick)), key);
  const source = parseKeySource('wg0.conf', Buffer.from(wgQuick));
  assert.equal(source.format, 'wg-quick');
});

test('a systemd-networkd .netdev with PrivateKey=: the [WireGuard] key, not a peer key', async () => {
  assert.deepEqual(await readParentKey(await file('wg0.netdev', netdev(`PrivateKey=${keyText}`))), key);
  assert.equal(parseKeySource('wg0.netdev', Buffer.from(netdev(`PrivateKey=${keyText}`))).format, 'networkd');
});

test('a .netdev with PrivateKeyFile=: the key file it names, 0600 or 0640 as networkd documents', async () => {
  const keyFile = await file('wg0.key', `${keyText}\n`);
  const path = await file('wg0-file.netdev', netdev(`PrivateKeyFile=${keyFile}`));
  assert.deepEqual(await readParentKey(path), key);
  await chmod(keyFile, 0o640);
  assert.deepEqual(await readParentKey(path), key);
  assert.deepEqual(parseKeySource(path, Buffer.from(netdev(`PrivateKeyFile=${keyFile}`))), { format: 'networkd', keyFile, line: 6 });
});

test('a raw key file as `wg genkey` writes it (also with CRLF or no newline)', async () => {
  for (const [name, body] of [['genkey', `${keyText}\n`], ['crlf', `${keyText}\r\n`], ['bare', keyText]] as const) {
    assert.deepEqual(await readParentKey(await file(`${name}.key`, body)), key, name);
  }
  const keys = await readParentKeys(['wg0'], new Map([['wg0', join(dir, 'genkey.key')]]));
  assert.deepEqual(keys.get('wg0'), key, 'the path --config-file takes');
});

test('PrivateKeyFile through a symlink, writable by others, or owned by someone else: refused, naming the file', async () => {
  const keyFile = await file('real.key', `${keyText}\n`);
  const link = join(dir, 'link.key');
  await symlink(keyFile, link);
  const viaLink = await file('link.netdev', netdev(`PrivateKeyFile=${link}`));
  let err = await refusal(readParentKey(viaLink));
  assert.equal(err.message, `${viaLink} line 6 PrivateKeyFile ${link}: is a symlink; name the file itself`);
  assert.equal(err.code, 'SETUP');

  const loose = await file('loose.key', `${keyText}\n`, 0o666);
  const viaLoose = await file('loose.netdev', netdev(`PrivateKeyFile=${loose}`));
  err = await refusal(readParentKey(viaLoose));
  assert.equal(err.message, `${viaLoose} line 6 PrivateKeyFile ${loose}: writable by group or others (mode 666); chmod 600 it (or 640 with group systemd-network)`);

  if (process.getuid?.() === 0) {
    const foreign = await file('foreign.key', `${keyText}\n`);
    await chown(foreign, 65534, 65534);
    const viaForeign = await file('foreign.netdev', netdev(`PrivateKeyFile=${foreign}`));
    err = await refusal(readParentKey(viaForeign));
    assert.equal(err.message, `${viaForeign} line 6 PrivateKeyFile ${foreign}: owned by uid 65534, not by this process (uid 0)`);
  }

  const missing = await file('missing.netdev', netdev(`PrivateKeyFile=${join(dir, 'nowhere.key')}`));
  err = await refusal(readParentKey(missing));
  assert.equal(err.code, 'NOT_FOUND');
  assert.equal(err.message, `${missing} line 6 PrivateKeyFile ${join(dir, 'nowhere.key')}: cannot read it (ENOENT)`);

  const relative = await file('relative.netdev', netdev('PrivateKeyFile=wg0.key'));
  err = await refusal(readParentKey(relative));
  assert.equal(err.message, `${relative} line 6 PrivateKeyFile: expected an absolute path (as systemd-networkd does), got "wg0.key"`);
});

test('a key file that holds something else: refused by name, the key never repeated', async () => {
  const twoKeys = await file('two.key', `${keyText}\n${other}\n`);
  const viaTwo = await file('two.netdev', netdev(`PrivateKeyFile=${twoKeys}`));
  const err = await refusal(readParentKey(viaTwo));
  assert.equal(
    err.message,
    `${viaTwo} line 6 PrivateKeyFile ${twoKeys}: not a wg-quick file ([Interface] with PrivateKey), a systemd-networkd .netdev ([WireGuard] with PrivateKey or PrivateKeyFile) or a key file as \`wg genkey\` writes it (one line of 44 base64 characters); it has 88 non-blank characters and no [section]`,
  );
});

test('broken files: each refusal names the file and the line, never the key', async () => {
  const cases: [string, string, string][] = [
    ['both.netdev', netdev(`PrivateKey=${keyText}\nPrivateKeyFile=/etc/systemd/network/wg0.key`), 'more than one PrivateKey or PrivateKeyFile line (line 7)'],
    ['two.conf', wgQuick.replace('Address', `PrivateKey = ${other}\nAddress`), 'more than one PrivateKey line (line 4)'],
    ['short.netdev', netdev(`PrivateKey=${keyText.slice(0, 40)}`), 'line 6 PrivateKey: expected 44 base64 characters, got 40'],
    ['nokey.netdev', netdev('ListenPort=1'), 'no PrivateKey line in [Interface] (wg-quick) nor PrivateKey or PrivateKeyFile in [WireGuard] (systemd-networkd)'],
    ['peer-only.conf', `[Peer]\nPublicKey = ${other}\n`, 'no PrivateKey line in [Interface] (wg-quick) nor PrivateKey or PrivateKeyFile in [WireGuard] (systemd-networkd)'],
    ['headless.conf', `PrivateKey = ${keyText}\n`, 'not a wg-quick file'],
    ['empty.key', '', 'not a wg-quick file'],
  ];
  for (const [name, body, expected] of cases) {
    const path = await file(name, body);
    const err = await refusal(readParentKey(path));
    assert.equal(err.code, 'INVALID_INPUT', name);
    assert.ok(err.message.startsWith(`${path}`), err.message);
    assert.ok(err.message.includes(expected), `${name}: ${err.message}`);
  }
});

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
