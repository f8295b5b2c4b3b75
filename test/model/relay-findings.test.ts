/**
 * The relay model's findings as plain regression tests: each replays the shrunk command
 * sequence that broke an invariant. The ones still open are `todo` (they run, and fail
 * without failing the suite); the relay model tolerates exactly their situations (see
 * KnownFindings in relay-model.ts) until they are fixed.
 */
import { test } from 'node:test';
import { Register, Restart, replay } from './relay-model.js';

test('a book whose parent record holds an address `wg` cannot parse still lets the relay start (the record is set aside)', async () => {
  await replay([new Register(0, 'own', 'parent', 'valid'), new Restart(false, 'bad-cidr', 0, true)]);
});
