/** `wg show <if> transfer`: picking a few peers' received bytes out of a large output; the interface's frame errors from sysfs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { pickReceived, readFrameErrors } from '../../src/wg/transfer.js';
import { publicKeyOf, publicKeyToText } from '../../src/wg/keys.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const key = (n: number): string => publicKeyToText(publicKeyOf(new Uint8Array(32).fill(n)));

test('pickReceived reads the lines of the wanted keys only, first line and last line too', () => {
  const keys = Array.from({ length: 50 }, (_, i) => key(i + 1));
  const text = `${keys.map((k, i) => `${k}\t${i * 10}\t${i}`).join('\n')}\n`;
  const wanted = new Set([keys[0]!, keys[27]!, keys[49]!, key(200)]);
  assert.deepEqual(pickReceived('wg0', bytes(text), wanted), new Map([[keys[0]!, 0], [keys[27]!, 270], [keys[49]!, 490]]));
  assert.deepEqual(pickReceived('wg0', bytes(text.trimEnd()), new Set([keys[49]!])), new Map([[keys[49]!, 490]]), 'no final newline');
  assert.deepEqual(pickReceived('wg0', bytes(''), wanted), new Map());
});

test('pickReceived: a damaged line of a wanted key is an error that names the command, never the text', () => {
  const k = key(7);
  assert.throws(() => pickReceived('wg0', bytes(`${key(8)}\t1\t1\n${k}\tlots\t1\n`), new Set([k])), (err: Error) => {
    assert.match(err.message, /`wg show wg0 transfer` line 1: expected byte counts/);
    assert.ok(!err.message.includes(k));
    return true;
  });
});

test('readFrameErrors: a count for an interface sysfs has, null for one it has not, a bad name refused', { skip: existsSync('/sys/class/net/lo/statistics/rx_frame_errors') ? false : 'no sysfs here' }, () => {
  const n = readFrameErrors('lo');
  assert.ok(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0, `lo: ${String(n)}`);
  assert.equal(readFrameErrors('nosuchif0'), null);
  assert.throws(() => readFrameErrors('../lo'));
});
