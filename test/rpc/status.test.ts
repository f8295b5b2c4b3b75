/**
 * What a client is told when its registration fails for a reason that is not its own:
 * the relay starting, the relay stopping and a fault on the relay each have their own
 * fixed text, and none of them claims a shutdown that is not happening.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { PqpskError } from '../../src/errors.js';
import { callRegisterPeer } from '../../src/rpc/client.js';
import { LOCAL_FAULT_DETAILS, STARTING_DETAILS, STOPPING_DETAILS, statusForError } from '../../src/rpc/status.js';
import { WgError } from '../../src/wg/errors.js';
import { rejection } from '../fixtures/errors.js';
import { clientRequest, makeWorld, serveOverLoopback } from '../server/helpers.js';

test('starting, stopping and a local fault each have their own fixed details', () => {
  const starting = statusForError(new PqpskError('STARTING', 'relay is starting: not open yet, retry in a few seconds'));
  assert.deepEqual(starting, { code: Status.UNAVAILABLE, details: 'relay is starting, retry in a few seconds' });
  assert.equal(starting.details, STARTING_DETAILS);
  assert.deepEqual(statusForError(new PqpskError('STOPPING', 'relay is shutting down')), { code: Status.UNAVAILABLE, details: 'relay is shutting down' });
  assert.equal(STOPPING_DETAILS, 'relay is shutting down');
  const faults = [
    new WgError('WG_FAILURE', '`wg` failed', 'wg set wg0 peer AAAA preshared-key <secret channel>', 1),
    new WgError('SETUP', 'permission denied: configuring WireGuard needs root (CAP_NET_ADMIN)', 'wg show wg0 public-key', 1),
    new WgError('NOT_FOUND', 'no such WireGuard interface wg0', 'wg show wg0 peers', 1),
    new PqpskError('SETUP', 'state file /var/lib/pqpsk/wg0.book.json: cannot write (ENOSPC)'),
  ];
  for (const err of faults) {
    const reply = statusForError(err);
    assert.deepEqual(reply, { code: Status.INTERNAL, details: 'the relay hit a fault of its own (logged there), not in the request; retry later' }, err.message);
    assert.equal(reply.details, LOCAL_FAULT_DETAILS);
  }
  // A bug is told apart from a local fault, with its own fixed text.
  assert.deepEqual(statusForError(new TypeError('x is undefined')), { code: Status.INTERNAL, details: 'internal error while registering the ephemeral peer' });
});

test('a `wg set` failing during a registration reaches the client as a relay fault, not a shutdown', async () => {
  const w = await makeWorld();
  const server = await serveOverLoopback(w);
  try {
    // P owns 127.0.0.1/32, so the loopback call authenticates; its batch's `wg set` fails.
    w.wg.failNext('set');
    const err = await rejection(callRegisterPeer(server.address, (await clientRequest(w.P.raw)).request, { deadline: Date.now() + 10_000 }));
    assert.equal(err.message, `relay at ${server.address} failed to serve the request: ${LOCAL_FAULT_DETAILS}`);
    assert.doesNotMatch(err.message, /shutting down/);
  } finally {
    server.forceShutdown();
  }
});
