/**
 * The relay user: found in passwd text (with the command that creates it when absent),
 * given the state directory by the root broker, and trusted as the book's owner by a
 * root `server status`.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileBookStore } from '../../src/server/file-book-store.js';
import { findUser, giveStateDir } from '../../src/server/relay-user.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\npqpsk:x:998:997::/nonexistent:/usr/sbin/nologin\ntoor:x:0:5::/:/bin/sh\n';

test('the user is read from passwd; a missing one names the useradd command; root is refused', () => {
  assert.deepEqual(findUser(PASSWD, 'pqpsk'), { name: 'pqpsk', uid: 998, gid: 997 });
  assert.throws(() => findUser(PASSWD, 'relay'), {
    code: 'SETUP',
    message: '--user relay: no such user; create it with `useradd --system --no-create-home --shell /usr/sbin/nologin relay` or name another with --user',
  });
  assert.throws(() => findUser(PASSWD, 'toor'), { code: 'SETUP', message: '--user toor: has uid or gid 0; the relay must run as an unprivileged user' });
});

const asRoot = process.getuid?.() === 0 ? {} : { skip: 'needs root (chown)' };

test('the broker gives the state directory and an old root-owned book to the user; root status trusts that owner', asRoot, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqpsk-relay-user-'));
  try {
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o755 });
    const book = join(state, 'wg7.book.json');
    writeFileSync(book, JSON.stringify({ format: 'pqpsk-relay-book', version: 1, parents: [], ephemerals: [] }), { mode: 0o600 });
    const user = { name: 'nobody', uid: 65534, gid: 65534 };
    await giveStateDir(state, 'wg7', user);
    assert.deepEqual([statSync(state).uid, statSync(state).mode & 0o777, statSync(book).uid], [65534, 0o700, 65534]);

    await assert.rejects(new FileBookStore(state, 'wg7').load(), { code: 'SETUP', message: `state directory ${state}: owned by uid 65534, not by this process (uid 0)` });
    const status = new FileBookStore(state, 'wg7', true);
    assert.deepEqual(await status.load(), { parents: [], ephemerals: [] });
    assert.deepEqual(status.problems, []);

    // A directory of someone else is not taken over.
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    chownSync(foreign, 1234, 1234);
    await assert.rejects(giveStateDir(foreign, 'wg7', user), { code: 'SETUP', message: `state directory ${foreign}: owned by uid 1234, neither root nor nobody` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
