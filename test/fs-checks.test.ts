/**
 * The one trust check on paths: each flaw is named in the same words wherever pqpsk
 * refuses a path (state directory, book file, log file, runtime directory, key file),
 * with the caller's advice after it; root ownership and sticky sharing only where asked.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkTrusted, untrustedBecause } from '../src/fs-checks.js';

const dir = mkdtempSync(join(tmpdir(), 'pqpsk-fs-checks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a private file and directory of ours pass; each flaw is named, with the advice given for it', () => {
  const file = join(dir, 'file');
  writeFileSync(file, 'x', { mode: 0o600 });
  const sub = join(dir, 'sub');
  mkdirSync(sub, { mode: 0o700 });
  symlinkSync(file, join(dir, 'link'));
  assert.equal(untrustedBecause(lstatSync(file), { kind: 'file' }), null);
  assert.equal(untrustedBecause(lstatSync(sub), { kind: 'directory' }), null);
  assert.equal(untrustedBecause(lstatSync(join(dir, 'link')), { kind: 'file', hints: { symlink: 'name the file itself' } }), 'is a symlink; name the file itself');
  assert.equal(untrustedBecause(lstatSync(sub), { kind: 'file' }), 'not a regular file');
  assert.equal(untrustedBecause(lstatSync(file), { kind: 'directory' }), 'not a directory');
  chmodSync(file, 0o620);
  assert.equal(untrustedBecause(lstatSync(file), { kind: 'file', hints: { writable: 'chmod 600 it' } }), 'writable by group or others (mode 620); chmod 600 it');
  assert.throws(() => checkTrusted(`key file ${file}`, lstatSync(file), { kind: 'file' }), { code: 'SETUP', message: `key file ${file}: writable by group or others (mode 620)` });
});

test('another owner is refused; root only where the caller allows it', () => {
  const sub = join(dir, 'owned');
  mkdirSync(sub, { mode: 0o700 });
  const st = lstatSync(sub);
  assert.equal(untrustedBecause(st, { kind: 'directory', uid: 4242 }), `owned by uid ${st.uid}, not by this process (uid 4242)`);
  if (st.uid === 0) {
    assert.equal(untrustedBecause(st, { kind: 'directory', uid: 4242, rootMayOwn: true }), null);
  }
  // Without a user (a platform with no getuid), ownership is not checked.
  assert.equal(untrustedBecause(st, { kind: 'directory', uid: undefined }), null);
});

test('a world-writable sticky directory passes only where shared directories are allowed (/tmp on the way to a log)', () => {
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  assert.equal(untrustedBecause(lstatSync(shared), { kind: 'directory', stickyMayShare: true }), null);
  assert.equal(untrustedBecause(lstatSync(shared), { kind: 'directory' }), 'writable by group or others (mode 777)');
});
