/**
 * RealWgControl's secret-free reads of a large interface: parsed a slice at a time, and
 * an unchanged read costs no parse and no join — yet every caller still gets what `wg`
 * printed, in an array of its own.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PARSE_SLICE_LINES, RealWgControl } from '../../src/wg/real.js';

const dir = mkdtempSync(join(tmpdir(), 'pqpsk-real-reads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const key = (i: number): string => Buffer.from([i >> 8, i & 255, ...Buffer.alloc(30, 9)]).toString('base64');
const PEERS = 2 * PARSE_SLICE_LINES + 7;

function listings(handshakeOf: (i: number) => number): void {
  writeFileSync(join(dir, 'allowed-ips.txt'), Array.from({ length: PEERS }, (_, i) => `${key(i)}\t10.${i >> 8}.${i & 255}.2/32\n`).join(''));
  writeFileSync(join(dir, 'latest-handshakes.txt'), Array.from({ length: PEERS }, (_, i) => `${key(i)}\t${handshakeOf(i)}\n`).join(''));
}

test('reads of several slices, again unchanged, then changed: each gives what `wg` printed', async () => {
  const wgPath = join(dir, 'wg');
  writeFileSync(wgPath, `#!/bin/sh\ncat "${dir}/$3.txt"\n`);
  chmodSync(wgPath, 0o755);
  const wg = new RealWgControl({ wgPath });
  listings(() => 1_700_000_000);
  const first = await wg.peerRoutes('wg0');
  assert.equal(first.length, PEERS);
  assert.deepEqual(first[PEERS - 1], { publicKey: key(PEERS - 1), allowedIps: [`10.${(PEERS - 1) >> 8}.${(PEERS - 1) & 255}.2/32`], latestHandshake: 1_700_000_000 });
  first.length = 0; // a caller's array is its own
  const again = await wg.peerRoutes('wg0');
  assert.equal(again.length, PEERS);
  listings((i) => (i === 5 ? 1_700_000_100 : 1_700_000_000));
  const changed = await wg.peerRoutes('wg0');
  assert.equal(changed.find((r) => r.publicKey === key(5))?.latestHandshake, 1_700_000_100);
  assert.equal(changed.find((r) => r.publicKey === key(6))?.latestHandshake, 1_700_000_000);
  assert.equal((await wg.latestHandshakes('wg0')).get(key(5)), 1_700_000_100);
});
