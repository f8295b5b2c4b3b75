/**
 * The documented install, as a user runs it: a clean clone of the repository's last commit,
 * `npm ci --ignore-scripts`, `npm pack`, then `npm install -g --ignore-scripts` of the
 * tarball into a temporary prefix, and the installed `pqpsk` run from another folder —
 * `--help`, the example paths it names, and `pqpsk demo` on the real bed.
 *
 * Honest rather than quick: the clone holds only committed files (a file missing from git
 * or from package.json "files" shows here), and its dependencies come from the lockfile
 * through npm (from npm's cache when it has them: --prefer-offline), not from this tree's
 * node_modules. What is uncommitted in the working tree is not tested here.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { e2eSkip, requireBed } from './gate.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier'];
/** What the issue asks of the user's install step; measured on a loaded two-core machine at about 10 s. */
const INSTALL_BUDGET_MS = 30_000;

/** The environment of a user's shell: none of the npm_* variables `npm test` passes down. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

function gitCheckout(): string | false {
  return existsSync(join(ROOT, '.git')) ? false : `${ROOT} is not a git checkout: nothing to clone`;
}

/** Every path under `dir`, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

const noClone = process.env.CI === 'true' ? false : gitCheckout();

describe('install from a clean clone: pack, npm install -g into a prefix, run from elsewhere', { skip: noClone }, () => {
  let work = '';
  let prefix = '';
  let elsewhere = '';
  let installOutput = '';
  let installMs = 0;
  let tarballPath = '';
  const steps: string[] = [];
  const pkgDir = (): string => join(prefix, 'lib/node_modules/pqpsk');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'pqpsk-install-'));
    // Searchable, as /usr/local is: the demo's relay runs the installed package as its own user.
    chmodSync(work, 0o711);
    const clone = join(work, 'clone');
    prefix = join(work, 'prefix');
    elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const env = userEnv();
    const timed = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      const t0 = performance.now();
      await run();
      steps.push(`${what} ${Math.round(performance.now() - t0)} ms`);
    };
    await timed('git clone', () => execa('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { env }));
    await timed('npm ci', () => execa('npm', ['ci', '--ignore-scripts', ...NPM_FLAGS], { cwd: clone, env, timeout: 180_000 }));
    await timed('npm pack', () => execa('npm', ['pack', ...NPM_FLAGS], { cwd: clone, env, timeout: 180_000 }));
    const [tarball] = readdirSync(clone).filter((f) => /^pqpsk-.*\.tgz$/.test(f));
    assert.ok(tarball, 'npm pack wrote a pqpsk-*.tgz');
    tarballPath = join(clone, tarball);
    const start = performance.now();
    const r = await execa('npm', ['install', '-g', '--ignore-scripts', '--prefix', prefix, ...NPM_FLAGS, join(clone, tarball)], {
      cwd: elsewhere,
      env,
      all: true,
      timeout: 120_000,
    });
    installMs = performance.now() - start;
    installOutput = String(r.all);
  });

  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  test(`npm install -g takes under ${INSTALL_BUDGET_MS / 1000} s, compiles nothing and warns of nothing`, (ctx) => {
    ctx.diagnostic(`${steps.join(', ')}, npm install -g ${Math.round(installMs)} ms`);
    assert.ok(installMs < INSTALL_BUDGET_MS, `install took ${Math.round(installMs)} ms:\n${installOutput}`);
    assert.doesNotMatch(installOutput, /npm warn|Unknown (project|env|user) config|gyp|node-gyp|Compilation failed/i, installOutput);
    const installed = walk(join(prefix, 'lib/node_modules'));
    assert.deepEqual(installed.filter((p) => p.endsWith('.node') || /\/build\/Release\//.test(p)), [], 'no native addon anywhere');
    assert.deepEqual(installed.filter((p) => /\/node_modules\/(pqclean|mceliece-nist)\//.test(p)), [], 'the packages with native addons are not installed');
  });

  test('without --ignore-scripts too, nothing is compiled; npm notes at most protobufjs\'s version check', async () => {
    const plain = join(work, 'plain');
    const r = await execa('npm', ['install', '-g', '--prefix', plain, ...NPM_FLAGS, tarballPath], { cwd: elsewhere, env: userEnv(), all: true, timeout: 120_000 });
    const out = String(r.all);
    assert.doesNotMatch(out, /Unknown (project|env|user) config|gyp|node-gyp|Compilation failed|pqpsk@/i, out);
    // npm releases with an install-script policy list the dependencies whose scripts they
    // have not been told about: here only protobufjs's postinstall (a version check).
    for (const line of out.split('\n').filter((l) => /npm warn/i.test(l))) {
      assert.match(line, /^npm warn install-scripts( |$)/, out);
      assert.ok(!/\b(pqclean|mceliece-nist|esbuild)\b/.test(line), out);
    }
    assert.deepEqual(walk(join(plain, 'lib/node_modules')).filter((p) => p.endsWith('.node')), [], 'no native addon');
  });

  test('the package carries the licence, the examples and the vendored WebAssembly; no source maps, no bench, no test double', () => {
    const files = walk(pkgDir()).filter((p) => !p.startsWith('node_modules/'));
    for (const f of [
      'LICENSE',
      'examples/systemd/pqpsk-negotiate@.service',
      'examples/systemd/pqpsk-server@.service',
      'examples/wg-quick/wg0.conf',
      'examples/nftables-pqpsk.nft',
      'examples/networkd/wg0.netdev',
      'examples/networkd/pqpsk-negotiate-networkd@.service',
      'dist/vendor/pqclean/pqclean.wasm',
      'dist/vendor/mceliece-nist/wasm/mceliece.wasm',
      // The project's own HQC-256 build and the loader that finds it two roots away.
      'wasm/hqc-256/hqc-256.wasm',
      'dist/src/kem/hqc/hqc256-wasm.js',
      'dist/src/testbed/index.js',
    ]) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps');
    assert.deepEqual(files.filter((f) => f.startsWith('dist/bench/') || f.startsWith('dist/src/bench/') || f.startsWith('dist/test/')), [], 'no bench, no tests');
    // Test doubles (an in-memory WireGuard, stand-ins) and fixtures live under test/, outside the package.
    assert.deepEqual(files.filter((f) => /(^|\/)fixtures\/|(^|\/)(fake|standin|stand-in|stub|mock)[^/]*$/i.test(f)), [], 'no test double, no fixture');
  });

  test('pqpsk --help from another folder; negotiate --help names the unit inside the installed package', async () => {
    const bin = join(prefix, 'bin/pqpsk');
    const help = await execa(bin, ['--help'], { cwd: elsewhere, env: userEnv() });
    assert.match(help.stdout, /^pqpsk <command> \[options\]/);
    for (const command of ['negotiate', 'status', 'server', 'demo']) assert.match(help.stdout, new RegExp(`^  pqpsk ${command} `, 'm'));
    assert.equal(help.stderr, '');
    const negotiate = await execa(bin, ['negotiate', '--help'], { cwd: elsewhere, env: userEnv() });
    const unit = join(pkgDir(), 'examples/systemd/pqpsk-negotiate@.service');
    // yargs wraps the usage text to the terminal's width, between words.
    assert.ok(negotiate.stdout.replace(/\s+/g, ' ').includes(`As a service beside wg-quick: ${unit}.`), negotiate.stdout);
    assert.ok(statSync(unit).isFile());
  });

  test('pqpsk demo from another folder, on the real bed', { skip: e2eSkip() }, async () => {
    requireBed();
    const r = await execa(join(prefix, 'bin/pqpsk'), ['demo'], { cwd: elsewhere, env: userEnv(), reject: false, timeout: 120_000 });
    const out = String(r.stdout);
    assert.equal(r.exitCode, 0, `${out}\n${String(r.stderr)}`);
    assert.match(out, /PSK fingerprint {2}client ([0-9a-f]{16}) {3}relay \1 {3}identical/);
    assert.match(out, /ping 10\.64\.0\.1 through the switched tunnel: 3\/3 received/);
    assert.match(out, /torn down in \d+ ms\n?$/);
  });
});
