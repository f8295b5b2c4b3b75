import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { createHqcWorkerPool } from '../../src/server/hqc-pool.js';
import { createInThreadHqc256Kem } from '../../src/kem/hqc/hqc-engine.js';
import { assertRejectsLabelled, marked } from '../kem/helpers.js';

/** OS threads of this process (Linux); worker threads are among them. */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

test('pool results decapsulate correctly in both directions; close() leaves no worker', async () => {
  const threadsBefore = threadCount();
  const pool = createHqcWorkerPool({ size: 2 });
  const local = createInThreadHqc256Kem();
  try {
    assert.equal(pool.size, 2);
    assert.equal(pool.kem.name, 'HQC-256');
    // Relay direction: client key in-thread, encapsulations on the pool.
    const clientKeys = await local.keygen();
    const pk = clientKeys.publicKey.slice();
    const pending = Array.from({ length: 4 }, () => pool.kem.encapsulate(clientKeys.publicKey));
    // Dispatch is synchronous: all four are either queued or running right now.
    assert.equal(pool.queueDepth + pool.inFlight, 4);
    assert.ok(pool.inFlight <= 2);
    const encs = await Promise.all(pending);
    assert.equal(pool.queueDepth, 0);
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(clientKeys.publicKey, pk, 'caller\'s buffer untouched (a copy was transferred)');
    const secrets = new Set<string>();
    for (const { ciphertext, sharedSecret } of encs) {
      assert.equal(sharedSecret.length, 64);
      assert.deepEqual(await local.decapsulate(ciphertext, clientKeys.secretKey), sharedSecret);
      secrets.add(Buffer.from(sharedSecret).toString('hex'));
    }
    assert.equal(secrets.size, 4, 'each worker draws its own randomness');
    // Reverse: keys and decapsulation on the pool.
    const poolKeys = await pool.kem.keygen();
    const enc = await local.encapsulate(poolKeys.publicKey);
    assert.deepEqual(await pool.kem.decapsulate(enc.ciphertext, poolKeys.secretKey), enc.sharedSecret);
    // Explicit rejection crosses the thread boundary as a typed error.
    const tampered = enc.ciphertext.slice();
    tampered[9]! ^= 0x10;
    await assertRejectsLabelled(() => pool.kem.decapsulate(tampered, poolKeys.secretKey), 'KEM_FAILURE', [
      'HQC-256 decapsulation',
    ], [poolKeys.secretKey]);
    // Wrong lengths never reach a worker.
    const bad = marked(7244);
    await assertRejectsLabelled(() => pool.encapsulate(bad), 'INVALID_INPUT', ['HQC-256 public key: expected 7245 bytes, got 7244'], [bad]);
    await assertRejectsLabelled(() => pool.decapsulate(new Uint8Array(14421), bad), 'INVALID_INPUT', ['HQC-256 secret key'], [bad]);
    assert.equal(pool.liveWorkers, 2);
  } finally {
    await pool.close();
  }
  assert.equal(pool.liveWorkers, 0);
  assert.equal(threadCount(), threadsBefore, 'every worker thread has exited');
  await assertRejectsLabelled(() => pool.kem.keygen(), 'RESOURCE_EXHAUSTED', ['closed']);
  await pool.close(); // idempotent
});

test('close() rejects queued and running work instead of leaving it hanging', async () => {
  const pool = createHqcWorkerPool({ size: 1 });
  const pending = [pool.keypair(), pool.keypair(), pool.keypair()].map((p) =>
    p.then(
      () => 'done',
      (err: unknown) => (isPqpskError(err, 'RESOURCE_EXHAUSTED') ? 'closed' : `other: ${String(err)}`),
    ),
  );
  assert.equal(pool.queueDepth + pool.inFlight, 3);
  await pool.close();
  const outcomes = await Promise.all(pending);
  assert.deepEqual(outcomes, ['closed', 'closed', 'closed']);
  assert.equal(pool.liveWorkers, 0);
});

test('a worker that cannot start breaks the pool with SETUP (no respawn loop)', async () => {
  const pool = createHqcWorkerPool({
    size: 2,
    workerScript: new URL('./fixtures/fails-at-start-worker.js', import.meta.url),
  });
  try {
    await assertRejectsLabelled(() => pool.keypair(), 'SETUP', ['HQC-256 worker failed to start']);
    await assertRejectsLabelled(() => pool.keypair(), 'SETUP', ['failed to start']);
  } finally {
    await pool.close();
  }
  assert.equal(pool.liveWorkers, 0);
});

test('a worker that dies mid-task fails that task as INTERNAL and is replaced', async () => {
  const pool = createHqcWorkerPool({
    size: 1,
    workerScript: new URL('./fixtures/crashes-on-task-worker.js', import.meta.url),
  });
  try {
    await assertRejectsLabelled(() => pool.keypair(), 'INTERNAL', ['exited unexpectedly', 'code 3']);
    assert.equal(pool.liveWorkers, 1, 'a replacement was started');
    await assertRejectsLabelled(() => pool.keypair(), 'INTERNAL', ['exited unexpectedly']);
  } finally {
    await pool.close();
  }
  assert.equal(pool.liveWorkers, 0);
});

test('pool size is validated', async () => {
  for (const size of [0, -1, 1.5, 1000]) {
    await assertRejectsLabelled(() => createHqcWorkerPool({ size }), 'INVALID_INPUT', ['HQC-256 worker pool size']);
  }
});

test("the caller's buffers stay usable: inputs sharing one ArrayBuffer with other data are copied, not transferred", async () => {
  const pool = createHqcWorkerPool({ size: 1 });
  try {
    const local = createInThreadHqc256Kem();
    const { publicKey, secretKey } = await local.keygen();
    // As a decoded gRPC request holds them: several fields as views into one buffer.
    const message = Buffer.alloc(16 + publicKey.length + 16, 0x5a);
    const key = message.subarray(16, 16 + publicKey.length);
    key.set(publicKey);
    const neighbour = message.subarray(16 + publicKey.length);
    const { ciphertext, sharedSecret } = await pool.kem.encapsulate(key);
    assert.equal(message.byteLength, 16 + publicKey.length + 16, 'the shared buffer was not detached');
    assert.deepEqual([...neighbour], new Array(16).fill(0x5a));
    assert.deepEqual(await local.decapsulate(ciphertext, secretKey), sharedSecret);
    // And the same for decapsulation inputs.
    const packed = Buffer.concat([Buffer.from(ciphertext), Buffer.from(secretKey)]);
    const again = await pool.kem.decapsulate(packed.subarray(0, ciphertext.length), packed.subarray(ciphertext.length));
    assert.deepEqual(again, sharedSecret);
    assert.equal(packed.byteLength, ciphertext.length + secretKey.length);
  } finally {
    await pool.close();
  }
});

test('the pool runs the engine it is given; both engines interoperate across threads', async () => {
  const reference = createHqcWorkerPool({ size: 1, engine: 'pqclean' });
  const ours = createHqcWorkerPool({ size: 1 });
  try {
    assert.equal(ours.engine, 'pqpsk');
    assert.equal(reference.engine, 'pqclean');
    const keys = await ours.kem.keygen();
    const enc = await reference.kem.encapsulate(keys.publicKey);
    assert.deepEqual(await ours.kem.decapsulate(enc.ciphertext, keys.secretKey), enc.sharedSecret);
    const referenceKeys = await reference.kem.keygen();
    const back = await ours.kem.encapsulate(referenceKeys.publicKey);
    assert.deepEqual(await reference.kem.decapsulate(back.ciphertext, referenceKeys.secretKey), back.sharedSecret);
  } finally {
    await Promise.all([reference.close(), ours.close()]);
  }
});

test('warm(): every worker runs its warm-up, ahead of shared work; the pool serves normally afterwards', async () => {
  const pool = createHqcWorkerPool({ size: 3 });
  const local = createInThreadHqc256Kem();
  try {
    const warming = pool.warm();
    // One warm-up per worker, each dispatched to its own worker (none waits in the shared queue).
    const keys = await local.keygen();
    const shared = pool.kem.encapsulate(keys.publicKey);
    assert.equal(pool.queueDepth, 1, 'shared work waits while every worker warms');
    await warming;
    const { ciphertext, sharedSecret } = await shared;
    assert.deepEqual(await local.decapsulate(ciphertext, keys.secretKey), sharedSecret);
    assert.equal(pool.inFlight, 0);
    await pool.close();
    await pool.warm();
  } finally {
    await pool.close();
  }
});
