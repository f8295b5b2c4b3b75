/**
 * The registration batch on its own: how many waiting registrations one `wg set` and one
 * book commit carry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PeerIndex } from '../../src/protocol/peer-index.js';
import { EMPTY_BOOK, type RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerChange, WgPeerRoute } from '../../src/protocol/wg-peer.js';
import type { InterfaceView } from '../../src/server/interface-view.js';
import { RegistrationBatch } from '../../src/server/registration-batch.js';
import { SerialQueue } from '../../src/server/serial.js';
import { publicKeyToText } from '../../src/wg/keys.js';

const key = (): string => publicKeyToText(randomBytes(32));

test('200 registrations waiting together (a herd after a restart) go out in one wg set and one book commit', async () => {
  const parents: WgPeerRoute[] = Array.from({ length: 200 }, (_, i) => ({ publicKey: key(), allowedIps: [`10.64.${i >> 8}.${i & 255}/32`], latestHandshake: 0 }));
  let book: RelayBook = EMPTY_BOOK;
  const commits: number[] = [];
  const view = { refresh: async () => new PeerIndex(parents) } as unknown as InterfaceView;
  const batch = new RegistrationBatch({
    lock: new SerialQueue(),
    view,
    clock: { now: () => 1_700_000_000_000, setTimer: () => () => undefined },
    book: () => book,
    recheck: () => undefined,
    commit: async (next: RelayBook, changes: readonly WgPeerChange[]) => {
      commits.push(changes.length);
      book = next;
    },
    done: () => undefined,
  });
  const psk = new Uint8Array(32);
  await Promise.all(parents.map((p) => batch.join({ claimed: p.publicKey, parent: p.publicKey, ephemeral: key(), source: '127.0.0.1', psk })));
  assert.deepEqual(commits, [200], 'one wg set with every new ephemeral: the batch costs one read, one set and one book write, whatever its size');
  assert.equal(book.ephemerals.length, 200);
});
