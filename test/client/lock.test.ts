/**
 * The per-interface lock: one holder at a time, and a new run that waits — for a bounded
 * time only — for a holder on its way out. Abstract sockets under a per-run prefix, so
 * no real pqpsk lock on this machine is touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { InterfaceLock, holderIsLeaving, type HolderInfo, type YieldOptions } from '../../src/client/lock.js';

const prefix = (): string => `pqpsk-test-${randomBytes(6).toString('hex')}`;
const yieldTo = (waitMs: number): YieldOptions => ({ leaving: (holder, iface) => holderIsLeaving(holder, iface, 12), waitMs });

test('holderIsLeaving: a holder that says so, or one managing a deleted interface of that name; an unknown index proves nothing', () => {
  const holder = (extra: Partial<HolderInfo>): HolderInfo => ({ pid: 1, mode: 'watch', ...extra });
  assert.equal(holderIsLeaving(holder({ leaving: true }), 'wg0', 12), true);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 11 } }), 'wg0', 12), true);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 12 } }), 'wg0', 12), false);
  assert.equal(holderIsLeaving(holder({}), 'wg0', 12), false, 'an older holder that tells nothing');
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 0 } }), 'wg0', 12), false);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg0: 11 } }), 'wg0', 0), false);
  assert.equal(holderIsLeaving(holder({ interfaces: { wg1: 11 } }), 'wg0', 12), false);
});

test('a holder that is not leaving: refused at once, naming it', async () => {
  const p = prefix();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', interfaces: { wg0: 12 } }), p);
  try {
    const started = performance.now();
    await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(5_000)), {
      code: 'SETUP',
      message: 'wg0 is managed by pqpsk pid 4242 (negotiate --watch); not touching it',
    });
    assert.ok(performance.now() - started < 1_000, 'no waiting');
  } finally {
    held.release();
  }
});

test('a holder of the deleted interface that lets go after 300 ms: the new run waits and takes the lock', async () => {
  const p = prefix();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', interfaces: { wg0: 11 } }), p);
  setTimeout(() => held.release(), 300);
  const started = performance.now();
  const lock = await InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(5_000));
  const ms = performance.now() - started;
  lock.release();
  assert.ok(ms >= 250 && ms < 2_000, `took the lock after ${Math.round(ms)} ms`);
});

test('a holder that says "leaving" forever: the new run gives up after the bound, saying why', async () => {
  const p = prefix();
  const held = await InterfaceLock.acquire(['wg0'], () => ({ pid: 4242, mode: 'watch', leaving: true }), p);
  try {
    const started = performance.now();
    await assert.rejects(InterfaceLock.acquire(['wg0'], () => ({ pid: 1, mode: 'watch' }), p, yieldTo(1_000)), {
      code: 'SETUP',
      message: 'wg0 is managed by pqpsk pid 4242 (negotiate --watch), which is stopping but did not let go within 1 s; not touching it',
    });
    const ms = performance.now() - started;
    assert.ok(ms >= 1_000 && ms < 4_000, `gave up after ${Math.round(ms)} ms`);
  } finally {
    held.release();
  }
});
