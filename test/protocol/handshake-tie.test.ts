/** The same-second tie rule alone, and as planTick applies it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handshakeTie, tieWinner } from '../../src/protocol/handshake-tie.js';
import { planTick, type RelayBook, type RelayPeerView } from '../../src/protocol/peer-state.js';

const T = { pendingMs: 120_000, idleMs: 600_000 };
const peer = (publicKey: string, latestHandshake: number, allowedIps: string[] = []): RelayPeerView => ({ publicKey, allowedIps, latestHandshake });

test('a tie is the members sharing the latest whole second; fractions (order of observation) do not split it', () => {
  assert.deepEqual(handshakeTie('P', [peer('P', 1000.2), peer('E1', 1000.999), peer('E2', 999)]), { parent: 'P', second: 1000, members: ['P', 'E1'] });
  assert.equal(handshakeTie('P', [peer('P', 1000), peer('E1', 1001)]), null, 'a later second is no tie');
  assert.equal(handshakeTie('P', [peer('P', 0), peer('E1', 0), undefined]), null, 'never handshaken is no tie');
  assert.equal(handshakeTie('P', [peer('P', 1000)]), null);
});

test('the counters decide only when exactly one tied member received bytes', () => {
  const tie = { parent: 'P', second: 1000, members: ['P', 'E1'] };
  assert.equal(tieWinner(tie, new Map([['P', 464], ['E1', 0]])), 'P');
  assert.equal(tieWinner(tie, new Map([['E1', 32]])), 'E1');
  assert.equal(tieWinner(tie, new Map([['P', 464], ['E1', 148]])), null, 'both moved: a switch between the reads');
  assert.equal(tieWinner(tie, new Map()), null, 'idle');
  assert.equal(tieWinner(tie, undefined), null);
  assert.equal(tieWinner(tie, new Map([['Q', 99]])), null, 'only members count');
});

test('planTick: a parent tied with its live ephemeral takes its addresses back when only its counters moved, and the ephemeral goes', () => {
  const book: RelayBook = { parents: [{ parent: 'P', allowedIps: ['10.64.0.2/32'] }], ephemerals: [{ ephemeral: 'E1', parent: 'P', registeredAt: 999_000 }] };
  const view = [peer('P', 1000), peer('E1', 1000, ['10.64.0.2/32'])];
  const without = planTick(book, view, 1_001_000, T);
  assert.deepEqual(without.changes, [], 'without counters the tie stays with the newest registration');
  assert.deepEqual(without.ties, [{ parent: 'P', second: 1000, members: ['P', 'E1'] }], 'and the plan says there is a tie to look at');
  const plan = planTick(book, view, 1_001_000, T, new Map([['P', 580], ['E1', 0]]));
  assert.deepEqual(plan.changes, [[{ publicKey: 'P', allowedIps: ['10.64.0.2/32'] }, { publicKey: 'E1', remove: true }]]);
  assert.deepEqual(plan.events.map((e) => e.kind), ['swap-back']);
  assert.deepEqual(plan.book, { parents: [], ephemerals: [] });
});

test('planTick: a rollback from a newer ephemeral to the live one in the same second keeps the live one when only its counters moved', () => {
  // The client negotiated again from E1, switched to E2, failed to verify and went back to E1.
  const book: RelayBook = {
    parents: [{ parent: 'P', allowedIps: ['10.64.0.2/32'] }],
    ephemerals: [
      { ephemeral: 'E1', parent: 'P', registeredAt: 900_000 },
      { ephemeral: 'E2', parent: 'P', registeredAt: 999_500 },
    ],
  };
  const view = [peer('P', 950), peer('E1', 1000.999, ['10.64.0.2/32']), peer('E2', 1000.999)];
  const without = planTick(book, view, 1_001_000, T);
  assert.deepEqual(without.events.map((e) => `${e.kind}:${e.ephemeral}`), ['superseded:E1', 'swap:E2'], 'without counters the newest registration wins the tie');
  const plan = planTick(book, view, 1_001_000, T, new Map([['E1', 1200], ['E2', 0]]));
  assert.deepEqual(plan.changes, [[{ publicKey: 'E2', remove: true }]]);
  assert.deepEqual(plan.events.map((e) => `${e.kind}:${e.ephemeral}`), ['superseded:E2']);
  assert.deepEqual(plan.book.ephemerals.map((e) => e.ephemeral), ['E1']);
});
