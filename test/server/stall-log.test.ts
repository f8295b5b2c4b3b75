/**
 * The relay's line for a connection closed for stalling: one per close, what an operator
 * needs to act on (address, why, bytes held), and no more than the budget allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../../src/server/log.js';
import { stallLogger } from '../../src/server/stall-log.js';

test('each closed stalled connection gets one warn line until the budget is spent; the rest are counted on the next line', () => {
  let now = 0;
  const logger = new MemoryLogger();
  const log = stallLogger(logger, 'wg0', { burst: 3, perSecond: 1 }, () => now);
  const close = { source: '10.64.0.7', reason: 'source_slots' as const, heldBytes: 1_066_000, arrivingMs: 4200 };
  for (let i = 0; i < 10; i++) log(close);
  assert.equal(logger.of('stalled-connection-closed').length, 3);
  assert.deepEqual(logger.records[0], {
    level: 'warn',
    record: { event: 'stalled-connection-closed', iface: 'wg0', source: '10.64.0.7', reason: 'source_slots', held_bytes: 1_066_000, arriving_ms: 4200 },
  });
  now = 1000;
  log(close);
  const lines = logger.of('stalled-connection-closed');
  assert.equal(lines.length, 4);
  assert.equal(lines[3]?.['suppressed'], 7, 'the seven lines left out are counted');
});
