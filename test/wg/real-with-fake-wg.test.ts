/**
 * The real WgControl driving test/fixtures/fake-wg/wg (first on PATH), which records
 * argv, stdin, key-shaped environment values and what it read from each key path. Every
 * test runs twice: with `wg` spawned by this process, and by the WgSpawner helper process
 * that `pqpsk server` uses — the two must be indistinguishable to `wg` and to the caller.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { inspect } from 'node:util';
import { isPqpskError } from '../../src/errors.js';
import { WgError } from '../../src/wg/errors.js';
import { inProcessLauncher, type Launcher } from '../../src/wg/launcher.js';
import { BedWgControl } from '../../src/testbed/wg-dump.js';
import type { WgRunnerOptions } from '../../src/wg/runner.js';
import { WgSpawner } from '../../src/wg/spawner.js';
import { REPO_ROOT, sample, testKey } from './helpers.js';

interface Recorded {
  argv: string[];
  stdin: string;
  envKeyShaped: string[];
  secretPaths: { after: string; path: string; isFifo?: boolean; mode?: string; dirMode?: string; content?: string; error?: string }[];
}

const PEER_A = 'OtnngjnFJ2xqM26LTnZDkhQoMv1SAhcWr1FXOFNPVGA=';
const PEER_B = '0IOqqjztRytqd82uE6nrQ0Y2D5FR3IFkEe2H0SQIbTU=';
const logDir = mkdtempSync(join(tmpdir(), 'pqpsk-fake-wg-log-'));
const savedPath = process.env.PATH;
process.env.PATH = `${REPO_ROOT}test/fixtures/fake-wg:${savedPath}`;
process.env.FAKE_WG_LOG_DIR = logDir;
const KNOBS = ['FAKE_WG_STDOUT', 'FAKE_WG_STDERR', 'FAKE_WG_EXIT', 'FAKE_WG_EXIT_BEFORE_READ', 'FAKE_WG_SKIP_READ'];

beforeEach(() => {
  for (const k of KNOBS) delete process.env[k];
  for (const f of readdirSync(logDir)) rmSync(join(logDir, f));
});
const spawner = new WgSpawner();
after(() => {
  spawner.close();
  process.env.PATH = savedPath;
  rmSync(logDir, { recursive: true, force: true });
});

function runs(): Recorded[] {
  return readdirSync(logDir).sort().map((f) => JSON.parse(readFileSync(join(logDir, f), 'utf8')) as Recorded);
}

function forms(key: Uint8Array): string[] {
  const b = Buffer.from(key);
  return [b.toString('base64'), b.toString('hex'), b.toString('base64url')];
}

const LAUNCHERS: readonly [string, Launcher | undefined][] = [
  ['in process', undefined],
  ['spawner', spawner],
];

for (const [how, launcher] of LAUNCHERS) {
  const control = (options: WgRunnerOptions = {}): BedWgControl => new BedWgControl(launcher === undefined ? options : { ...options, launcher });

  test(`${how}: fake wg: a private key and a PSK reach wg only through the secret channel (FIFOs), never argv/env/stdin`, async () => {
    const wg = control();
    const privateKey = testKey(1);
    const psk = testKey(2);
    await wg.set('wg0', { privateKey, peers: [{ publicKey: PEER_A, presharedKey: psk, allowedIps: ['10.64.0.2/32'] }] });

    const [run, ...more] = runs();
    assert.equal(more.length, 0);
    assert.ok(run);
    assert.deepEqual(run.argv.slice(0, 3), ['set', 'wg0', 'private-key']);
    assert.deepEqual(run.argv.slice(4, 8), ['peer', PEER_A, 'preshared-key', run.argv[7]]);
    assert.deepEqual(run.secretPaths.map((p) => [p.after, p.isFifo, p.mode, p.dirMode]), [
      ['private-key', true, '600', '700'],
      ['preshared-key', true, '600', '700'],
    ]);
    assert.equal(run.secretPaths[0]!.content, `${Buffer.from(privateKey).toString('base64')}\n`);
    assert.equal(run.secretPaths[1]!.content, `${Buffer.from(psk).toString('base64')}\n`);
    const visible = JSON.stringify({ argv: run.argv, stdin: run.stdin });
    for (const s of [...forms(privateKey), ...forms(psk)]) assert.ok(!visible.includes(s), 'secret in argv or stdin');
    assert.deepEqual(run.envKeyShaped, []);
    assert.equal(run.stdin, '');
    // The private FIFO directory is gone once set() returns.
    assert.equal(existsSync(dirname(run.secretPaths[0]!.path)), false);
    // The caller's arrays are the caller's: not wiped by set().
    assert.deepEqual(privateKey, testKey(1));
  });

  test(`${how}: fake wg: a set prepared ahead starts only \`wg\`: its FIFOs were made at prepareSet, and the keys still go through them`, async () => {
    const started: string[] = [];
    const base: Launcher = launcher ?? inProcessLauncher;
    const counting: Launcher = { launch: (file, args, options) => (started.push(file), base.launch(file, args, options)) };
    const wg = new BedWgControl({ launcher: counting });
    wg.prepareSet(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(started, ['mkfifo'], 'the FIFOs are made at once');
    const privateKey = testKey(1);
    const psk = testKey(2);
    await wg.set('wg0', { privateKey, peers: [{ publicKey: PEER_A, presharedKey: psk }] });
    assert.deepEqual(started, ['mkfifo', 'wg'], 'the set itself starts no mkfifo');
    const [run] = runs();
    assert.deepEqual(run!.secretPaths.map((p) => [p.after, p.isFifo, p.mode, p.dirMode]), [
      ['private-key', true, '600', '700'],
      ['preshared-key', true, '600', '700'],
    ]);
    assert.equal(run!.secretPaths[1]!.content, `${Buffer.from(psk).toString('base64')}\n`);
    assert.equal(existsSync(dirname(run!.secretPaths[0]!.path)), false, 'the channel is gone once set() returns');
    // Used once: the next set makes its own.
    await wg.set('wg0', { privateKey });
    assert.deepEqual(started, ['mkfifo', 'wg', 'mkfifo', 'wg']);
  });

  test(`${how}: fake wg: a set without keys leaves the FIFOs made ahead to the next set with keys`, async () => {
    const started: string[] = [];
    const base: Launcher = launcher ?? inProcessLauncher;
    const counting: Launcher = { launch: (file, args, options) => (started.push(file), base.launch(file, args, options)) };
    const wg = new BedWgControl({ launcher: counting });
    wg.prepareSet(1);
    await wg.set('wg0', { peers: [{ publicKey: PEER_B, remove: true }] });
    await wg.set('wg0', { peers: [{ publicKey: PEER_A, presharedKey: testKey(2) }] });
    assert.deepEqual([...started].sort(), ['mkfifo', 'wg', 'wg'], 'the keyed set took the FIFO prepared before the keyless one: one mkfifo in all');
    assert.equal(runs().at(-1)!.secretPaths[0]!.content, `${Buffer.from(testKey(2)).toString('base64')}\n`);
  });

  test(`${how}: fake wg: clearing a PSK passes /dev/null (empty file = no PSK) and needs no FIFO`, async () => {
    await control().set('wg0', { peers: [{ publicKey: PEER_A, presharedKey: null }, { publicKey: PEER_B, remove: true }] });
    const [run] = runs();
    assert.deepEqual(run!.argv, ['set', 'wg0', 'peer', PEER_A, 'preshared-key', '/dev/null', 'peer', PEER_B, 'remove']);
    assert.deepEqual(run!.secretPaths.map((p) => [p.path, p.isFifo, p.content]), [['/dev/null', false, '']]);
  });

  test(`${how}: fake wg: show and readPrivateKey parse recorded output`, async () => {
    process.env.FAKE_WG_STDOUT = sample('many-peers.dump.txt');
    const s = await control().show('wg0');
    assert.equal(s.peers.length, 15);
    assert.equal(s.publicKey, PEER_A);
    process.env.FAKE_WG_STDOUT = sample('private-key.txt');
    const key = await control().readPrivateKey('wg0');
    assert.equal(Buffer.from(key).toString('base64'), sample('private-key.txt').trim());
    assert.deepEqual(runs().map((r) => r.argv), [['show', 'wg0', 'dump'], ['show', 'wg0', 'private-key']]);
    process.env.FAKE_WG_STDOUT = '(none)\n';
    await assert.rejects(control().readPrivateKey('wg0'), /WireGuard interface wg0 has no private key/);
  });

  test(`${how}: fake wg: a failing dump becomes a WgError without the child's output (which holds keys)`, async () => {
    const dump = sample('many-peers.dump.txt');
    process.env.FAKE_WG_STDOUT = dump;
    process.env.FAKE_WG_STDERR = 'Unable to access interface: Protocol not supported\n';
    process.env.FAKE_WG_EXIT = '1';
    const err: unknown = await control().show('wg7').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WgError);
    assert.equal(err.code, 'NOT_FOUND');
    assert.equal(err.message, 'no such WireGuard interface wg7 (command: wg show wg7 dump, exit code 1)');
    assert.equal(err.exitCode, 1);
    assert.equal(err.cause, undefined);
    const everything = `${err.message} ${err.stack} ${inspect(err)} ${JSON.stringify(err)}`;
    assert.ok(!everything.includes(dump.split('\t')[0]!), 'private key leaked');
    assert.ok(!everything.includes('Protocol not supported'));
  });

  test(`${how}: fake wg: a failing set names the command with <secret channel>, never the FIFO path or key`, async () => {
    process.env.FAKE_WG_EXIT = '1';
    process.env.FAKE_WG_STDERR = 'Unable to modify interface: Protocol not supported\n';
    const key = testKey(4);
    const err: unknown = await control().set('wg7', { privateKey: key }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WgError);
    assert.equal(err.message, 'no such WireGuard interface wg7 (command: wg set wg7 private-key <secret channel>, exit code 1)');
    for (const s of forms(key)) assert.ok(!inspect(err).includes(s));
  });

  test(`${how}: fake wg: wg exiting before it opens the FIFO does not hang the writer`, async () => {
    process.env.FAKE_WG_EXIT_BEFORE_READ = '1';
    process.env.FAKE_WG_EXIT = '1';
    await assert.rejects(control().set('wg0', { privateKey: testKey(1), peers: [{ publicKey: PEER_A, presharedKey: testKey(2) }] }), (e: unknown) => isPqpskError(e, 'WG_FAILURE'));
    const [run] = runs();
    assert.equal(run!.secretPaths.length, 0);
    assert.equal(existsSync(dirname(run!.argv[3]!)), false);
  });

  test(`${how}: fake wg: a wg that succeeds without reading its key is a failure, not silence`, async () => {
    process.env.FAKE_WG_SKIP_READ = '1';
    await assert.rejects(control().set('wg0', { privateKey: testKey(1) }), /`wg` exited without reading a key from the secret channel/);
  });

  test(`${how}: missing wg binary: a SETUP error that reads well`, async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pqpsk-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      await assert.rejects(control().show('wg0'), (e: unknown) => isPqpskError(e, 'SETUP') && e.message === 'the `wg` program was not found on PATH; install wireguard-tools (command: wg show wg0 dump)');
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true });
    }
    await assert.rejects(control({ wgPath: '/nonexistent/wg' }).latestHandshakes('wg0'), (e: unknown) => isPqpskError(e, 'SETUP'));
  });

  test(`${how}: invalid input is refused before any process starts`, async () => {
    await assert.rejects(control().set('wg0', { peers: [{ publicKey: 'short' }] }), (e: unknown) => isPqpskError(e, 'INVALID_INPUT'));
    await assert.rejects(control().show('no/slash'), (e: unknown) => isPqpskError(e, 'INVALID_INPUT'));
    assert.equal(runs().length, 0);
  });
}
