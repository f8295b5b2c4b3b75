/**
 * `pqpsk server status` from a book file and the fake `wg`: which parents are on an
 * ephemeral key, since when, their latest handshake and the totals; read-only (the book
 * and its directory are left byte for byte as they were, only the secret-free read is
 * made), with or without a book.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRelayStatus, relayStatusText } from '../../src/cli/commands/server-status-run.js';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { wgKeypair } from '../client/helpers.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const REGISTERED = NOW - 3_600_000;

/** A relay interface: P1 on its ephemeral E1 (E3 recorded but gone), P2 on its parent key with E2 waiting, P3 never registered. */
async function relay(dir: string) {
  const [P1, P2, P3, E1, E2, E3] = Array.from({ length: 6 }, () => wgKeypair().publicKey) as [string, string, string, string, string, string];
  const wg = new FakeWgControl({ record: true });
  wg.addInterface('wg0', { privateKey: wgKeypair().privateKey });
  await wg.set('wg0', {
    peers: [
      { publicKey: P1, allowedIps: [] },
      { publicKey: E1, allowedIps: ['10.8.0.2/32'] },
      { publicKey: P2, allowedIps: ['10.8.0.3/32'] },
      { publicKey: E2, allowedIps: [] },
      { publicKey: P3, allowedIps: ['10.8.0.4/32'] },
    ],
  });
  wg.setLatestHandshake('wg0', P1, NOW / 1000 - 7200);
  wg.setLatestHandshake('wg0', E1, NOW / 1000 - 30);
  wg.setLatestHandshake('wg0', P2, NOW / 1000 - 90);
  await new FileBookStore(dir, 'wg0').save({
    parents: [{ parent: P1, allowedIps: ['10.8.0.2/32'] }, { parent: P2, allowedIps: [] }],
    ephemerals: [
      { ephemeral: E1, parent: P1, registeredAt: REGISTERED },
      { ephemeral: E2, parent: P2, registeredAt: NOW - 60_000 },
      { ephemeral: E3, parent: P1, registeredAt: REGISTERED - 1000 },
    ],
  });
  return { wg, P1, P2, P3, E1 };
}

test('per parent: on ephemeral or not, since when, last handshake; totals; read-only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-server-status-'));
  try {
    const { wg, P1, P2, P3, E1 } = await relay(dir);
    const book = join(dir, 'wg0.book.json');
    const before = { text: readFileSync(book, 'utf8'), mtime: statSync(book).mtimeMs, files: readdirSync(dir).sort() };
    const opsBefore = wg.operations.length;

    const s = await readRelayStatus('wg0', dir, wg);
    assert.deepEqual(s.totals, { parents: 3, onEphemeral: 1, onParentKey: 2, ephemeralPeers: 2 });
    assert.equal(s.vanishedEphemerals, 1);
    assert.equal(s.bookFound, true);
    const p1 = s.parents.find((p) => p.parent === P1)!;
    assert.deepEqual(p1, {
      parent: P1,
      onEphemeral: true,
      ephemeral: E1,
      ephemeralSince: new Date(REGISTERED).toISOString(),
      lastHandshake: new Date(NOW - 30_000).toISOString(),
      allowedIps: ['10.8.0.2/32'],
      waitingEphemerals: 0,
    });
    const p2 = s.parents.find((p) => p.parent === P2)!;
    assert.equal(p2.onEphemeral, false);
    assert.equal(p2.waitingEphemerals, 1);
    assert.equal(s.parents.find((p) => p.parent === P3)!.lastHandshake, null);
    assert.equal(s.parents[2]!.parent, P1, 'parents still on their parent key come first');

    const text = relayStatusText(s, NOW);
    assert.equal(text.split('\n')[0], `wg0: 1 of 3 parents on a post-quantum ephemeral key (book ${book})`);
    assert.ok(text.includes(`  ${P1}  on ephemeral ${E1} since ${new Date(REGISTERED).toISOString()}; handshake 30 s ago; 10.8.0.2/32`), text);
    assert.ok(text.includes(`  ${P2}  on parent key; handshake 90 s ago; 10.8.0.3/32, 1 waiting`), text);
    assert.ok(text.includes(`  ${P3}  on parent key; handshake never; 10.8.0.4/32`), text);
    assert.ok(text.endsWith('totals: 3 parents, 1 on ephemeral, 2 on parent key, 2 ephemeral peers on the interface, 1 in the book but gone from the interface'), text);

    assert.deepEqual(wg.operations.slice(opsBefore).map((o) => o.op), ['peerRoutes'], 'one secret-free read, no set');
    assert.deepEqual({ text: readFileSync(book, 'utf8'), mtime: statSync(book).mtimeMs, files: readdirSync(dir).sort() }, before, 'book and directory untouched: no save, no lock file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a book (the relay never ran with this state directory): every peer on its parent key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-server-status-'));
  try {
    const { wg } = await relay(dir);
    const empty = join(dir, 'none');
    const s = await readRelayStatus('wg0', empty, wg);
    assert.deepEqual(s.totals, { parents: 5, onEphemeral: 0, onParentKey: 5, ephemeralPeers: 0 });
    assert.equal(s.bookFound, false);
    const text = relayStatusText(s, NOW).split('\n');
    assert.match(text[0]!, /^wg0: 0 of 5 parents on a post-quantum ephemeral key/);
    assert.equal(text[1], `  (no book at ${join(empty, 'wg0.book.json')}: no client has registered here yet, or the relay runs with another --state-dir)`);
    assert.deepEqual(readdirSync(dir).sort(), ['wg0.book.json'], 'nothing created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
