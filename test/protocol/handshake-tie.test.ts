/** The same-second tie rule alone, and as planTick applies it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handshakeTie, tieWinner, windowVerdicts, type HandshakeTie, type TieWindow } from '../../src/protocol/handshake-tie.js';
import { planTick } from '../../src/protocol/plan-tick.js';
import type { RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerRoute } from '../../src/protocol/wg-peer.js';

const T = { pendingMs: 120_000, idleMs: 600_000 };
const peer = (publicKey: string, latestHandshake: number, allowedIps: string[] = []): WgPeerRoute => ({ publicKey, allowedIps, latestHandshake });

test('a tie is the members sharing the latest whole second; fractions (order of observation) do not split it', () => {
  assert.deepEqual(handshakeTie('P', [peer('P', 1000.2), peer('E1', 1000.999), peer('E2', 999)]), { parent: 'P', second: 1000, members: ['P', 'E1'], holder: null });
  assert.equal(handshakeTie('P', [peer('P', 1000), peer('E1', 1001)]), null, 'a later second is no tie');
  assert.equal(handshakeTie('P', [peer('P', 0), peer('E1', 0), undefined]), null, 'never handshaken is no tie');
  assert.equal(handshakeTie('P', [peer('P', 1000)]), null);
});

test('the counters decide only when exactly one tied member received bytes', () => {
  const tie = { parent: 'P', second: 1000, members: ['P', 'E1'], holder: null };
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
  assert.deepEqual(without.ties, [{ parent: 'P', second: 1000, members: ['P', 'E1'], holder: 'E1' }], 'and the plan says there is a tie to look at');
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

test('the holder of a tie is the one member holding addresses, else null', () => {
  assert.equal(handshakeTie('P', [peer('P', 1000), peer('E1', 1000, ['10.64.0.2/32'])])?.holder, 'E1');
  assert.equal(handshakeTie('P', [peer('P', 1000, ['10.64.0.2/32']), peer('E1', 1000, ['10.64.0.3/32'])])?.holder, null, 'split: no single holder');
  assert.equal(handshakeTie('P', [peer('P', 1000), peer('E1', 1000), peer('E2', 999, ['10.64.0.2/32'])])?.holder, null, 'held outside the tie');
});

/** A window of tie `tie` with the holder's and the other's received bytes. */
const win = (tie: HandshakeTie, rx: Record<string, number>, holder: string | null = tie.holder): TieWindow => ({ tie, received: new Map(Object.entries(rx)), holder });
const A: HandshakeTie = { parent: 'P', second: 1000, members: ['P', 'E1'], holder: 'E1' };
const B: HandshakeTie = { parent: 'Q', second: 1000, members: ['Q', 'F1'], holder: 'F1' };
const winners = (v: ReturnType<typeof windowVerdicts>): (string | null)[] => v.map((x) => (x === null ? null : `${x.winner} by ${x.by}`));

test('kernel: a silent holder while frame errors rise gives the tie to the other member; bytes still decide first', () => {
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 })], 3)), ['P by frame-errors'], 'the bug case: client back on its parent, its data dropped');
  assert.deepEqual(windowVerdicts([win(A, { P: 0, E1: 0 })], 3)[0]?.received, new Map([['P', 3], ['E1', 0]]), 'planTick is told the dropped packets as the winner\'s');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 })], 0)), [null], 'idle: no frame errors, no verdict');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 900 })], 3)), ['E1 by bytes'], 'the holder moved alone: it wins whatever the errors');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 148, E1: 0 })], 3)), ['P by bytes'], 'wireguard-go, or a handshake counted on the kernel');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 }, null)], 3)), [null], 'no single holder through the window');
  const three: HandshakeTie = { parent: 'P', second: 1000, members: ['P', 'E1', 'E2'], holder: 'E1' };
  assert.deepEqual(winners(windowVerdicts([win(three, { P: 0, E1: 0, E2: 0 })], 3)), [null], 'three members: two candidates');
  const unheld: HandshakeTie = { ...A, holder: null };
  assert.deepEqual(winners(windowVerdicts([win(unheld, { P: 0, E1: 0 })], 3)), [null], 'no member holds: either may be the sender');
});

test('kernel: frame errors are ascribed only to the one tie whose client may send without addresses', () => {
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 }), win(B, { Q: 0, F1: 0 })], 5)), [null, null], 'two silent holders: the errors cannot be attributed');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 }), win(B, { Q: 0, F1: 700 })], 5)), ['P by frame-errors', 'F1 by bytes'], 'the other family sends on its holder: the errors are ours');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 }), win(B, { Q: 148, F1: 0 })], 5)), [null, 'Q by bytes'], 'the other family sends without addresses too');
  assert.deepEqual(winners(windowVerdicts([win(A, { P: 0, E1: 0 }), { tie: B, received: undefined, holder: null }], 5)), [null, null], 'a tie first seen now may be the source');
});
