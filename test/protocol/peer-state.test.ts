import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/protocol/authenticate.js';
import { planRecovery } from '../../src/protocol/plan-recovery.js';
import { planRegistration } from '../../src/protocol/plan-registration.js';
import { planRelease } from '../../src/protocol/plan-release.js';
import { planTick } from '../../src/protocol/plan-tick.js';
import { EMPTY_BOOK, type RelayBook } from '../../src/protocol/relay-book.js';
import type { WgPeerChange, WgPeerRoute } from '../../src/protocol/wg-peer.js';

const P = 'PARENT_A'; // the client's normal peer, 10.64.0.2/32
const Q = 'PARENT_B'; // another client, 10.64.0.3/32
const IPS_P = ['10.64.0.2/32', 'fc00::2/128'];
const T = { pendingMs: 120_000, idleMs: 600_000 };

/** A tiny model of the relay interface that applies PeerOps the way WireGuard does. */
class Iface {
  peers = new Map<string, { allowedIps: string[]; latestHandshake: number }>();
  constructor() {
    this.peers.set(P, { allowedIps: [...IPS_P], latestHandshake: 1000 });
    this.peers.set(Q, { allowedIps: ['10.64.0.3/32'], latestHandshake: 1000 });
  }
  view(): WgPeerRoute[] {
    return [...this.peers].map(([publicKey, p]) => ({ publicKey, ...p }));
  }
  add(key: string): void {
    this.peers.set(key, { allowedIps: [], latestHandshake: 0 });
  }
  handshake(key: string, at: number): void {
    const peer = this.peers.get(key);
    assert.ok(peer, `no peer ${key}`);
    peer.latestHandshake = at;
  }
  apply(changes: readonly (readonly WgPeerChange[])[]): void {
    for (const op of changes.flat()) {
      if (op.remove) {
        this.peers.delete(op.publicKey);
        continue;
      }
      if (op.allowedIps) {
        for (const other of this.peers.values()) other.allowedIps = other.allowedIps.filter((ip) => !op.allowedIps?.includes(ip));
        const peer = this.peers.get(op.publicKey);
        assert.ok(peer, `allowed-ips for missing peer ${op.publicKey}`);
        peer.allowedIps = [...op.allowedIps];
      }
    }
  }
  holderOf(ip: string): string | undefined {
    return [...this.peers].find(([, p]) => p.allowedIps.includes(ip))?.[0];
  }
}

function register(iface: Iface, book: RelayBook, parent: string, eph: string, now: number): RelayBook {
  const plan = planRegistration(book, iface.view(), parent, eph, now);
  iface.apply(plan.changes);
  iface.add(eph);
  return plan.book;
}

function tick(iface: Iface, book: RelayBook, nowMs: number): { book: RelayBook; kinds: string[] } {
  const plan = planTick(book, iface.view(), nowMs, T);
  iface.apply(plan.changes);
  return { book: plan.book, kinds: plan.events.map((e) => `${e.kind}:${e.ephemeral}`) };
}

test('authentication: the request must travel in the claimed parent or its live ephemeral', () => {
  const iface = new Iface();
  assert.equal(authenticate(EMPTY_BOOK, iface.view(), P, '10.64.0.2'), P);
  assert.throws(() => authenticate(EMPTY_BOOK, iface.view(), Q, '10.64.0.2'), { code: 'PERMISSION_DENIED' });
  assert.throws(() => authenticate(EMPTY_BOOK, iface.view(), 'UNKNOWN', '10.64.0.2'), { code: 'PERMISSION_DENIED' });
  assert.throws(() => authenticate(EMPTY_BOOK, iface.view(), P, '10.64.0.99'), { code: 'PERMISSION_DENIED' });
  // The same message for unknown and wrong parents.
  const messages = [Q, 'UNKNOWN'].map((k) => {
    try {
      authenticate(EMPTY_BOOK, iface.view(), k, '10.64.0.2');
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  });
  assert.equal(messages[0], messages[1]);
});

test('authentication from a live ephemeral: claiming it or its parent is accepted, a pending one is not', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  assert.throws(() => authenticate(book, iface.view(), 'E1', '10.64.0.2'), { code: 'PERMISSION_DENIED' }, 'pending E1 holds no route');
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_500).book;
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E1');
  assert.equal(authenticate(book, iface.view(), 'E1', '10.64.0.2'), P);
  assert.equal(authenticate(book, iface.view(), P, '10.64.0.2'), P);
  assert.throws(() => authenticate(book, iface.view(), 'E1', '10.64.0.3'), { code: 'PERMISSION_DENIED' });
  assert.throws(() => authenticate(book, iface.view(), Q, '10.64.0.2'), { code: 'PERMISSION_DENIED' });
});

test('a pending ephemeral takes the allowed-ips when it handshakes, even in the same second as the parent', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  let step = tick(iface, book, 1_000_250);
  assert.deepEqual(step.kinds, []);
  assert.equal(iface.holderOf('10.64.0.2/32'), P);
  iface.handshake('E1', 1000); // the parent's handshake is also at second 1000
  step = tick(iface, step.book, 1_000_500);
  assert.deepEqual(step.kinds, ['swap:E1']);
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E1');
  assert.equal(iface.holderOf('fc00::2/128'), 'E1');
  book = step.book;
  assert.deepEqual(tick(iface, book, 1_000_750).kinds, [], 'a steady state does nothing');
});

test('made before broken: the live ephemeral survives a new registration until the new one handshakes', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  book = register(iface, book, P, 'E2', 1_002_000);
  assert.ok(iface.peers.has('E1'), 'E1 is live and stays');
  let step = tick(iface, book, 1_002_300);
  assert.deepEqual(step.kinds, []);
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E1');
  iface.handshake('E2', 1003);
  step = tick(iface, step.book, 1_003_100);
  assert.deepEqual(step.kinds, ['superseded:E1', 'swap:E2']);
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E2');
  assert.equal(iface.peers.has('E1'), false);
  assert.deepEqual(step.book.ephemerals.map((e) => e.ephemeral), ['E2']);
});

test('a pending registration is replaced at once by a newer one', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  const plan = planRegistration(book, iface.view(), P, 'E2', 1_000_500);
  assert.deepEqual(plan.events.map((e) => `${e.kind}:${e.ephemeral}`), ['replaced:E1']);
  assert.deepEqual(plan.changes, [[{ publicKey: 'E1', remove: true }]]);
  iface.apply(plan.changes);
  iface.add('E2');
  book = plan.book;
  assert.deepEqual(book.ephemerals.map((e) => e.ephemeral), ['E2']);
  assert.equal(iface.peers.has('E1'), false);
});

test('the parent handshaking again takes its allowed-ips back and the ephemeral goes', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  iface.handshake(P, 1005);
  const step = tick(iface, book, 1_005_100);
  assert.deepEqual(step.kinds, ['swap-back:E1']);
  assert.equal(iface.holderOf('10.64.0.2/32'), P);
  assert.equal(iface.peers.has('E1'), false);
  assert.deepEqual(step.book, { parents: [], ephemerals: [] });
});

test('expiry: never handshook within 120 s, or idle past the TTL; allowed-ips go back to the parent', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  assert.deepEqual(tick(iface, book, 1_000_000 + 119_000).kinds, []);
  let step = tick(iface, book, 1_000_000 + 121_000);
  assert.deepEqual(step.kinds, ['expired-pending:E1']);
  assert.equal(iface.peers.has('E1'), false);

  book = register(iface, step.book, P, 'E2', 2_000_000);
  iface.handshake('E2', 2000);
  book = tick(iface, book, 2_000_100).book;
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E2');
  step = tick(iface, book, 2_000_000 + T.idleMs + 1000);
  assert.deepEqual(step.kinds, ['expired-idle:E2']);
  assert.equal(iface.holderOf('10.64.0.2/32'), P);
  assert.equal(iface.holderOf('fc00::2/128'), P);
});

test('an operator removing the parent revokes its ephemerals; a vanished ephemeral returns the addresses', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  iface.peers.delete('E1');
  let step = tick(iface, book, 1_002_000);
  assert.deepEqual(step.kinds, ['vanished:E1']);
  assert.equal(iface.holderOf('10.64.0.2/32'), P);

  book = register(iface, step.book, Q, 'F1', 1_003_000);
  iface.peers.delete(Q);
  step = tick(iface, book, 1_003_100);
  assert.deepEqual(step.kinds, ['parent-gone:F1']);
  assert.equal(iface.peers.has('F1'), false);
});

test('an ephemeral key that is already a peer is refused', () => {
  const iface = new Iface();
  assert.throws(() => planRegistration(EMPTY_BOOK, iface.view(), P, Q, 1), { code: 'INVALID_INPUT' });
});

test('recovery keeps a live ephemeral, removes pending ones and returns stranded addresses', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  book = register(iface, book, P, 'E2', 1_002_000); // pending when the relay "crashes"
  book = register(iface, book, Q, 'F1', 1_002_000);
  const plan = planRecovery(book, iface.view(), 1_010_000);
  iface.apply(plan.changes);
  assert.deepEqual(plan.book.ephemerals.map((e) => e.ephemeral), ['E1']);
  assert.equal(iface.peers.has('E2'), false);
  assert.equal(iface.peers.has('F1'), false);
  assert.equal(iface.holderOf('10.64.0.2/32'), 'E1');
  assert.equal(iface.holderOf('10.64.0.3/32'), Q);

  // A crash after the live ephemeral vanished: nobody holds P's addresses; they go back.
  iface.peers.delete('E1');
  const again = planRecovery(plan.book, iface.view(), 1_020_000);
  iface.apply(again.changes);
  assert.equal(iface.holderOf('10.64.0.2/32'), P);
  assert.deepEqual(again.book, { parents: [], ephemerals: [] });
});

test('allowed-ips moves come before removals in one change group', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  book = register(iface, book, P, 'E2', 1_002_000);
  iface.handshake('E2', 1003);
  const plan = planTick(book, iface.view(), 1_003_100, T);
  assert.equal(plan.changes.length, 1);
  assert.deepEqual(plan.changes[0], [{ publicKey: 'E2', allowedIps: IPS_P }, { publicKey: 'E1', remove: true }]);
});

test('the book records only what the relay lent: nothing while the parent holds its addresses', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  assert.deepEqual(book.parents, [{ parent: P, allowedIps: [] }]);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  assert.deepEqual(book.parents, [{ parent: P, allowedIps: IPS_P }]);
});

test('a parent the operator set while its ephemeral held the addresses keeps exactly that; the ephemeral goes', () => {
  const iface = new Iface();
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  iface.handshake('E1', 1001);
  book = tick(iface, book, 1_001_100).book;
  iface.peers.get(P)!.allowedIps = ['10.64.9.9/32'];
  const step = tick(iface, book, 1_002_000);
  assert.deepEqual(step.kinds, ['overruled:E1']);
  assert.deepEqual(iface.peers.get(P)?.allowedIps, ['10.64.9.9/32']);
  assert.equal(iface.peers.has('E1'), false);
  assert.equal(iface.holderOf('10.64.0.2/32'), undefined, 'the old addresses are not put back');
  assert.deepEqual(step.book, EMPTY_BOOK);
});

test('recovery forgets, never removes, a recorded key that holds nothing but has handshaken', () => {
  const iface = new Iface();
  iface.peers.get(Q)!.allowedIps = [];
  const book: RelayBook = { parents: [{ parent: P, allowedIps: [] }], ephemerals: [{ ephemeral: Q, parent: P, registeredAt: 1_000_000 }] };
  const plan = planRecovery(book, iface.view(), 1_010_000);
  assert.deepEqual(plan.changes, []);
  assert.deepEqual(plan.events.map((e) => `${e.kind}:${e.ephemeral}`), [`released:${Q}`]);
  assert.deepEqual(plan.book, EMPTY_BOOK);
});

test('release: every parent gets its family back, every ephemeral goes, a vanished holder\'s addresses return, a removed parent\'s ephemeral goes alone; the book is empty', () => {
  const iface = new Iface();
  const R = 'PARENT_C';
  iface.peers.set(R, { allowedIps: ['10.64.0.4/32'], latestHandshake: 1000 });
  let book = register(iface, EMPTY_BOOK, P, 'E1', 1_000_000);
  book = register(iface, book, Q, 'F1', 1_000_000);
  book = register(iface, book, R, 'G1', 1_000_000);
  for (const e of ['E1', 'F1', 'G1']) iface.handshake(e, 1001);
  book = tick(iface, book, 1_001_100).book;
  book = register(iface, book, P, 'E2', 1_002_000); // pending while E1 is live
  iface.peers.delete('F1'); // vanished while holding Q's address: Q holds nothing now
  iface.peers.delete(R); // the operator removed R
  const plan = planRelease(book, iface.view());
  iface.apply(plan.changes);
  assert.deepEqual(plan.book, EMPTY_BOOK);
  assert.deepEqual(iface.peers.get(P)?.allowedIps, IPS_P);
  assert.deepEqual(iface.peers.get(Q)?.allowedIps, ['10.64.0.3/32']);
  assert.deepEqual([...iface.peers.keys()].sort(), [P, Q].sort(), 'no ephemeral is left');
  assert.deepEqual(plan.events.map((e) => `${e.kind}:${e.ephemeral}`).sort(), ['given-back:E1', 'given-back:E2', 'given-back:G1']);
  assert.deepEqual(planRelease(EMPTY_BOOK, iface.view()), { book: EMPTY_BOOK, changes: [], events: [] }, 'nothing to give back twice');
});
