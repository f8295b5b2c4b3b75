/**
 * The error table: every code has every column, and the columns say what operators and
 * scripts rely on — the exit codes of the README, which codes end a run at once, and
 * which errors a remote peer may read verbatim. The relay's status, its metric label and
 * the CLI's exit code are read from the table, and agree with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { ERROR_TABLE, meaningOf } from '../src/error-table.js';
import { PqpskError, messageOf, type PqpskErrorCode } from '../src/errors.js';
import { statusForError } from '../src/rpc/status.js';
import { resultFor } from '../src/server/relay.js';

const CODES = Object.keys(ERROR_TABLE) as PqpskErrorCode[];

test('every code has a gRPC status, its details, a metric label, an exit code and a retry rule', () => {
  assert.equal(CODES.length, 19);
  for (const code of CODES) {
    const row = ERROR_TABLE[code];
    assert.equal(typeof Status[row.grpc], 'number', `${code}: ${row.grpc} is a gRPC status`);
    assert.ok(row.details === null || (typeof row.details === 'string' && row.details !== ''), `${code}: details`);
    assert.equal(row.metric, row.grpc.toLowerCase(), `${code}: metric label`);
    assert.ok([1, 2, 3].includes(row.exit), `${code}: exit ${row.exit}`);
    assert.equal(typeof row.retry, 'boolean', `${code}: retry`);
  }
});

test('exit codes as the README gives them: 2 set-up or usage, 3 tunnel down, 1 gave up', () => {
  const byExit = (exit: number): PqpskErrorCode[] => CODES.filter((c) => ERROR_TABLE[c].exit === exit).sort();
  assert.deepEqual(byExit(2), ['INVALID_INPUT', 'NOT_FOUND', 'OUTSIDE_TUNNEL', 'SETUP', 'STATE_DAMAGED', 'UNSUPPORTED_ALGORITHM']);
  assert.deepEqual(byExit(3), ['ROLLBACK_FAILED', 'TUNNEL_DOWN']);
  for (const code of CODES) assert.equal(exitCodeFor(new PqpskError(code, 'm')), ERROR_TABLE[code].exit, code);
  // What is not ours is a bug: the run gave up.
  assert.equal(exitCodeFor(new TypeError('x')), 1);
});

test('the client stops at once on set-up errors and bugs, and tries again on the rest', () => {
  const final = CODES.filter((c) => !ERROR_TABLE[c].retry).sort();
  assert.deepEqual(final, ['INTERNAL', 'INVALID_INPUT', 'NOT_FOUND', 'OUTSIDE_TUNNEL', 'SETUP', 'STATE_DAMAGED', 'UNSUPPORTED_ALGORITHM']);
  assert.equal(meaningOf(new Error('not ours')).retry, false);
});

test('only messages our validation writes reach a remote peer; the relay answers and counts by the table', () => {
  const verbatim = CODES.filter((c) => ERROR_TABLE[c].details === null).sort();
  assert.deepEqual(verbatim, ['INVALID_INPUT', 'RESOURCE_EXHAUSTED', 'UNSUPPORTED_ALGORITHM', 'UNSUPPORTED_FEATURE']);
  for (const code of CODES) {
    const err = new PqpskError(code, `secret-looking text of ${code}`);
    const reply = statusForError(err);
    assert.equal(reply.code, Status[ERROR_TABLE[code].grpc], code);
    assert.equal(reply.details, ERROR_TABLE[code].details ?? err.message, code);
    assert.equal(resultFor(err), ERROR_TABLE[code].metric, code);
  }
  // A damaged state file is the relay's own fault: its path stays in the relay's log.
  assert.equal(statusForError(new PqpskError('STATE_DAMAGED', 'state file /var/lib/pqpsk/wg0.book.json: parents is not a list')).details, ERROR_TABLE.SETUP.details);
});

test('a user reads our message, or a fixed text for anything else', () => {
  assert.equal(messageOf(new PqpskError('SETUP', 'no wg')), 'no wg');
  assert.equal(messageOf(new Error('/root/secret path')), 'unexpected error');
  assert.equal(messageOf('thrown string'), 'unexpected error');
});
