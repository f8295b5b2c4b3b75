/**
 * The registration batch on its own: how many waiting registrations one `wg set` and one
 * book commit carry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isPqpskError } from '../../src/errors.js';
import { PeerIndex } from '../../src/protocol/peer-index.js';
import { EMPTY_BOOK, type RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerChange, WgPeerRoute } from '../../src/protocol/wg-peer.js';
import { InterfaceView } from '../../src/server/interface-view.js';
import { BATCH_READ_MAX_AGE_MS, RegistrationBatch } from '../../src/server/registration-batch.js';
import { FakeWgControl } from '../fixtures/fake-wg-control.js';
import { SerialQueue } from '../../src/server/serial.js';
import { publicKeyToText } from '../../src/wg/keys.js';

const IFACE = 'pqbatch0';
const key = (): string => publicKeyToText(randomBytes(32));

test('200 registrations waiting together (a herd after a restart) go out in one wg set and one book commit', async () => {
  const parents: WgPeerRoute[] = Array.from({ length: 200 }, (_, i) => ({ publicKey: key(), allowedIps: [`10.64.${i >> 8}.${i & 255}/32`], latestHandshake: 0 }));
  let book: RelayBook = EMPTY_BOOK;
  const commits: number[] = [];
  const view = { recent: async () => new PeerIndex(parents) } as unknown as InterfaceView;
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

test('batches in quick succession plan on the interface the one before left in the cache; one after a few quiet seconds reads it again', async () => {
  const wg = new FakeWgControl();
  wg.addInterface(IFACE);
  const parents = Array.from({ length: 3 }, (_, i) => ({ publicKey: key(), allowedIps: [`10.64.0.${i + 1}/32`] }));
  await wg.set(IFACE, { peers: parents });
  let now = 1_700_000_000_000;
  const clock = { now: () => now, setTimer: () => () => undefined };
  const view = new InterfaceView(wg, IFACE, clock);
  await view.refresh();
  let book: RelayBook = EMPTY_BOOK;
  const batch = new RegistrationBatch({
    lock: new SerialQueue(),
    view,
    clock,
    book: () => book,
    recheck: () => undefined,
    commit: async (next: RelayBook, changes: readonly WgPeerChange[]) => {
      await wg.set(IFACE, { peers: changes });
      view.apply(changes);
      book = next;
    },
    done: () => undefined,
  });
  const reads = (): number => wg.operations.filter((o) => o.op === 'peerRoutes').length;
  const psk = new Uint8Array(32).fill(7);
  const first = reads();
  const e1 = key();
  await batch.join({ claimed: parents[0]!.publicKey, parent: parents[0]!.publicKey, ephemeral: e1, source: '10.64.0.1', psk });
  now += BATCH_READ_MAX_AGE_MS;
  // The cache holds the first batch's ephemeral: registering it again is refused without a read.
  await assert.rejects(batch.join({ claimed: parents[1]!.publicKey, parent: parents[1]!.publicKey, ephemeral: e1, source: '10.64.0.2', psk }), /already a peer of this relay/);
  await batch.join({ claimed: parents[1]!.publicKey, parent: parents[1]!.publicKey, ephemeral: key(), source: '10.64.0.2', psk });
  assert.equal(reads(), first, 'no full read of the interface while the cache is at most BATCH_READ_MAX_AGE_MS old');
  // The operator removes the third parent; a moment later the next batch, its cache now too old, reads and refuses it.
  await wg.set(IFACE, { peers: [{ publicKey: parents[2]!.publicKey, remove: true }] });
  now += 1;
  await assert.rejects(batch.join({ claimed: parents[2]!.publicKey, parent: parents[2]!.publicKey, ephemeral: key(), source: '10.64.0.3', psk }), /parent key does not match/);
  assert.equal(reads(), first + 1);
  assert.equal(book.ephemerals.length, 2);
});

test('a registration whose client cancelled while it waited for the lock is left out of the batch: no peer, no book record, a TIMEOUT', async () => {
  const parents: WgPeerRoute[] = Array.from({ length: 3 }, (_, i) => ({ publicKey: key(), allowedIps: [`10.64.1.${i + 1}/32`], latestHandshake: 0 }));
  let book: RelayBook = EMPTY_BOOK;
  const sets: string[][] = [];
  const lock = new SerialQueue();
  const batch = new RegistrationBatch({
    lock,
    view: { recent: async () => new PeerIndex(parents) } as unknown as InterfaceView,
    clock: { now: () => 1_700_000_000_000, setTimer: () => () => undefined },
    book: () => book,
    recheck: () => undefined,
    commit: async (next: RelayBook, changes: readonly WgPeerChange[]) => {
      sets.push(changes.map((c) => c.publicKey));
      book = next;
    },
    done: () => undefined,
  });
  // The lock is busy (a pass, an earlier batch) while the three wait; one client gives up meanwhile.
  let free = (): void => undefined;
  void lock.run(() => new Promise<void>((resolve) => (free = resolve)));
  const cancelled = new AbortController();
  const psk = new Uint8Array(32).fill(9);
  const ephemerals = parents.map(() => key());
  const calls = parents.map((p, i) => batch.join({ claimed: p.publicKey, parent: p.publicKey, ephemeral: ephemerals[i]!, source: '127.0.0.1', psk, signal: i === 1 ? cancelled.signal : undefined }));
  await new Promise((resolve) => setImmediate(resolve));
  cancelled.abort();
  free();
  const results = await Promise.allSettled(calls);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.ok(isPqpskError((results[1] as PromiseRejectedResult).reason, 'TIMEOUT'));
  assert.equal(((results[1] as PromiseRejectedResult).reason as Error).message, 'the client cancelled the call');
  assert.deepEqual(sets, [[ephemerals[0], ephemerals[2]]]);
  assert.deepEqual(book.ephemerals.map((e) => e.ephemeral), [ephemerals[0], ephemerals[2]]);
});
