/**
 * The secret-channel writer on a real FIFO, driven from outside: the test holds the read
 * end itself, as `wg` would, and looks at the pipe at the moment the writer gives up.
 *
 * Why the order matters: `wg` reads a key path to EOF. If the writer closed its end after
 * a failed write and only then killed `wg`, `wg` would read an empty (or cut) key and set
 * it as if it had worked — an all-zero PSK. So the reader must already be dead when the
 * write end closes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isPqpskError } from '../../src/errors.js';
import { inProcessLauncher } from '../../src/wg/launcher.js';
import { SecretChannel } from '../../src/wg/secret-channel.js';

const runtime = mkdtempSync(join(tmpdir(), 'pqpsk-secret-channel-test-'));
process.env['PQPSK_RUNTIME_DIR'] = runtime;
after(() => {
  delete process.env['PQPSK_RUNTIME_DIR'];
  rmSync(runtime, { recursive: true, force: true });
});

/** What a reader holding `fd` (non-blocking) sees now: the write end still open, or EOF. */
function pipeState(fd: number): 'writer-open' | 'eof' {
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 'writer-open';
      throw err;
    }
    if (n === 0) return 'eof';
  }
}

/** A fresh channel with one FIFO whose read end the test holds (non-blocking), as `wg` would. */
async function withReader(body: (channel: SecretChannel, path: string, reader: number) => Promise<void>): Promise<void> {
  const channel = await SecretChannel.open();
  try {
    const path = join(channel.dir, '0');
    await channel.makeFifos([path], inProcessLauncher);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await body(channel, path, reader);
    } finally {
      closeSync(reader);
    }
  } finally {
    await channel.close();
  }
}

test('a write that fails part-way kills the reader while the FIFO is still open, then closes it; the text is wiped', () =>
  withReader(async (channel, path, reader) => {
    // More than a pipe holds: the non-blocking write takes only part of it — a failed write.
    const text = new Uint8Array(1 << 20).fill(0x41);
    const seen: string[] = [];
    const err: unknown = await channel
      .feed(path, text, () => false, () => seen.push(`killed with the write end ${pipeState(reader) === 'writer-open' ? 'open' : 'closed'}`))
      .then(() => assert.fail('the feed should fail'), (e: unknown) => e);
    assert.ok(isPqpskError(err, 'WG_FAILURE'), 'a typed secret-channel error');
    assert.deepEqual(seen, ['killed with the write end open'], 'the reader was killed before the write end closed');
    assert.equal(pipeState(reader), 'eof', 'and the write end is closed afterwards');
    assert.ok(text.every((b) => b === 0), 'the key text is wiped');
  }));

test('a key written whole reaches the reader, followed by EOF; the reader is not killed', () =>
  withReader(async (channel, path, reader) => {
    const key = Buffer.from('A'.repeat(43) + '=\n');
    const text = Uint8Array.from(key);
    let killed = 0;
    assert.equal(await channel.feed(path, text, () => false, () => killed++), 'delivered');
    assert.equal(killed, 0);
    const got = Buffer.alloc(128);
    assert.equal(readSync(reader, got, 0, got.length, null), key.length);
    assert.deepEqual(got.subarray(0, key.length), key);
    assert.equal(pipeState(reader), 'eof');
    assert.ok(text.every((b) => b === 0), 'the key text is wiped');
  }));

test('a reader that opens the FIFO later gets its key then: the writer waits for it in an open', async () => {
  const channel = await SecretChannel.open();
  try {
    const path = join(channel.dir, '0');
    await channel.makeFifos([path], inProcessLauncher);
    const key = Buffer.from('B'.repeat(43) + '=\n');
    let reader: number | undefined;
    const later = new Promise<void>((resolve) => setTimeout(() => {
      reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      resolve();
    }, 50));
    assert.equal(await channel.feed(path, Uint8Array.from(key), () => false, () => assert.fail('not killed')), 'delivered');
    await later;
    const got = Buffer.alloc(128);
    assert.equal(readSync(reader!, got, 0, got.length, null), key.length);
    assert.deepEqual(got.subarray(0, key.length), key);
    assert.equal(pipeState(reader!), 'eof');
    closeSync(reader!);
  } finally {
    await channel.close();
  }
});

test('a reader that exits without opening the FIFO: the feed is abandoned, nothing is left in the pipe, and the next reader gets the next key', async () => {
  const channel = await SecretChannel.open();
  try {
    const path = join(channel.dir, '0');
    await channel.makeFifos([path], inProcessLauncher);
    const text = Uint8Array.from(Buffer.from('C'.repeat(43) + '=\n'));
    let gone = false;
    const exited = new Promise<void>((resolve) => setTimeout(() => {
      gone = true;
      resolve();
    }, 30));
    assert.equal(await channel.feed(path, text, () => gone, () => assert.fail('not killed'), exited), 'abandoned');
    assert.ok(text.every((b) => b === 0), 'the key text is wiped');
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const next = Buffer.from('D'.repeat(43) + '=\n');
      assert.equal(await channel.feed(path, Uint8Array.from(next), () => false, () => assert.fail('not killed')), 'delivered');
      const got = Buffer.alloc(128);
      assert.equal(readSync(reader, got, 0, got.length, null), next.length);
      assert.deepEqual(got.subarray(0, next.length), next, 'only the next key: the abandoned one was never written');
    } finally {
      closeSync(reader);
    }
  } finally {
    await channel.close();
  }
});

test('a process that exits while its writer waits for a reader that never comes still exits, and leaves no FIFO behind', async () => {
  const channelModule = new URL('../../src/wg/secret-channel.js', import.meta.url).href;
  const launcherModule = new URL('../../src/wg/launcher.js', import.meta.url).href;
  const base = mkdtempSync(join(tmpdir(), 'pqpsk-secret-channel-exit-'));
  try {
    // The child feeds a key nobody reads, then exits while that open still waits.
    const script =
      `const { SecretChannel } = await import(${JSON.stringify(channelModule)}); ` +
      `const { inProcessLauncher } = await import(${JSON.stringify(launcherModule)}); ` +
      `const channel = await SecretChannel.open(); const path = channel.dir + '/0'; ` +
      `await channel.makeFifos([path], inProcessLauncher); ` +
      `void channel.feed(path, new Uint8Array(45).fill(65), () => false, () => undefined); ` +
      `setTimeout(() => { process.stdout.write(channel.dir); process.exit(0); }, 200);`;
    const started = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, PQPSK_RUNTIME_DIR: base }, timeout: 10_000, encoding: 'utf8' });
    const ms = performance.now() - started;
    assert.equal(r.error, undefined, `the process did not exit within 10 s (${String(r.error)})`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(ms < 5000, `exit took ${Math.round(ms)} ms`);
    assert.ok(r.stdout.startsWith(base), r.stdout);
    assert.equal(existsSync(r.stdout), false, 'the FIFO directory was removed');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
