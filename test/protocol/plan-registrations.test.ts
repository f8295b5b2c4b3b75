/**
 * The batch planner against the one-registration planner: the same book, removals,
 * events and refusals as planRegistration applied request after request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PeerIndex } from '../../src/protocol/peer-index.js';
import { planRegistration } from '../../src/protocol/plan-registration.js';
import { RegistrationPlanner } from '../../src/protocol/plan-registrations.js';
import type { EphemeralRecord, ParentRecord, PeerEvent, RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerChange, WgPeerRoute } from '../../src/protocol/wg-peer.js';
import { publicKeyToText } from '../../src/wg/keys.js';

const NOW = 1_700_000_000_000;
const key = (): string => publicKeyToText(randomBytes(32));

/** A book of `families` parents, each with ephemerals in every state the classifier knows. */
function world(families: number, seed: number): { book: RelayBook; peers: WgPeerRoute[]; parents: string[] } {
  let r = seed;
  const rand = (n: number): number => {
    r = (r * 1103515245 + 12345) % 2147483648;
    return r % n;
  };
  const peers: WgPeerRoute[] = [];
  const parents: ParentRecord[] = [];
  const ephemerals: EphemeralRecord[] = [];
  const keys: string[] = [];
  for (let f = 0; f < families; f++) {
    const parent = key();
    keys.push(parent);
    const ip = `10.64.${f >> 8}.${f & 255}/32`;
    const kinds = Array.from({ length: rand(4) }, () => rand(5));
    const liveAt = kinds.indexOf(1);
    peers.push({ publicKey: parent, allowedIps: liveAt >= 0 ? [] : [ip], latestHandshake: 0 });
    if (kinds.length > 0) parents.push({ parent, allowedIps: liveAt >= 0 ? [ip] : [] });
    kinds.forEach((kind, i) => {
      const ephemeral = key();
      ephemerals.push({ ephemeral, parent, registeredAt: NOW - 1000 * (i + 1) });
      // 0 pending, 1 live (the first one only), 2 standby, 3 vanished, 4 foreign
      if (kind === 3) return;
      const holds = kind === 1 && i === liveAt ? [ip] : kind === 4 ? [`10.99.${f >> 8}.${f & 255}/32`] : [];
      peers.push({ publicKey: ephemeral, allowedIps: holds, latestHandshake: kind === 2 || kind === 1 ? NOW / 1000 - 5 : 0 });
    });
  }
  return { book: { parents, ephemerals }, peers, parents: keys };
}

type Outcome = { removals: readonly WgPeerChange[]; events: readonly PeerEvent[] } | string;

/** What the batch's host does with each step: note the added and removed peers on the index. */
function runFold(book: RelayBook, peers: readonly WgPeerRoute[], requests: readonly [string, string][]): { book: RelayBook; outcomes: Outcome[] } {
  const index = new PeerIndex(peers);
  const outcomes: Outcome[] = [];
  for (const [parent, ephemeral] of requests) {
    try {
      const plan = planRegistration(book, index, parent, ephemeral, NOW);
      book = plan.book;
      index.addUnrouted(ephemeral);
      for (const op of plan.changes.flat()) index.removeUnrouted(op.publicKey);
      outcomes.push({ removals: plan.changes.flat(), events: plan.events });
    } catch (err) {
      outcomes.push((err as Error).message);
    }
  }
  return { book, outcomes };
}

function runBatch(book: RelayBook, peers: readonly WgPeerRoute[], requests: readonly [string, string][]): { book: RelayBook; outcomes: Outcome[] } {
  const index = new PeerIndex(peers);
  const planner = new RegistrationPlanner(book, index, NOW);
  const outcomes: Outcome[] = [];
  for (const [parent, ephemeral] of requests) {
    try {
      const step = planner.add(parent, ephemeral);
      index.addUnrouted(ephemeral);
      for (const op of step.removals) index.removeUnrouted(op.publicKey);
      outcomes.push(step);
    } catch (err) {
      outcomes.push((err as Error).message);
    }
  }
  return { book: planner.book(), outcomes };
}

test('a batch plans as registration after registration would: the same book, removals, events and refusals', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const w = world(40, seed);
    const requests: [string, string][] = [];
    let n = seed;
    for (let i = 0; i < 60; i++) {
      n = (n * 7 + 3) % 97;
      const parent = n % 11 === 0 ? key() : w.parents[n % w.parents.length]!;
      // Now and then a key already in use: the book's, the interface's, or this batch's own.
      const ephemeral = n % 13 === 0 && requests.length > 0 ? requests[n % requests.length]![1] : n % 17 === 0 ? w.book.ephemerals[n % w.book.ephemerals.length]?.ephemeral ?? key() : key();
      requests.push([parent, ephemeral]);
    }
    const fold = runFold(w.book, w.peers, requests);
    const batch = runBatch(w.book, w.peers, requests);
    assert.deepEqual(batch.outcomes, fold.outcomes, `seed ${seed}: outcomes`);
    assert.deepEqual(batch.book, fold.book, `seed ${seed}: book`);
  }
});

test('a parent registering twice in one batch replaces its first new ephemeral, which then never reaches the book', () => {
  const w = world(3, 5);
  const parent = w.parents[0]!;
  const first = key();
  const second = key();
  const batch = runBatch(w.book, w.peers, [[parent, first], [parent, second]]);
  assert.deepEqual(batch.outcomes[1], { removals: [{ publicKey: first, remove: true }], events: [{ kind: 'replaced', parent, ephemeral: first }] });
  assert.deepEqual(batch.book.ephemerals.filter((e) => e.parent === parent).map((e) => e.ephemeral).includes(first), false);
  assert.deepEqual(batch.book.ephemerals.at(-1), { ephemeral: second, parent, registeredAt: NOW });
});
