/**
 * `pqpsk demo` as a user runs it: the single-hop and multihop stories on the real bed, and
 * the one line a user without root gets. The demo process itself stays in the root
 * namespace running `ip`/`wg`; its traffic (negotiate, ping) starts inside its namespaces.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { MAIN_JS } from '../../src/testbed/index.js';
import { e2eSkip, requireBed } from './gate.js';

const skip = e2eSkip();

test('demo without root: one line says so, exit code 2', async () => {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const argv = asRoot
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN_JS, 'demo']
    : [process.execPath, MAIN_JS, 'demo'];
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: 30_000 });
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.equal(r.stdout, '');
  assert.match(String(r.stderr), /^pqpsk demo: cannot build the test bed: .*root.*\n?$/);
  assert.equal(String(r.stderr).trim().split('\n').length, 1);
});

describe('pqpsk demo on the real bed', { skip }, () => {
  for (const multihop of [false, true]) {
    test(`demo${multihop ? ' --multihop' : ''}: identical PSK fingerprints on both ends of every hop, ping through, torn down`, async (ctx) => {
      requireBed();
      const r = await execa(process.execPath, [MAIN_JS, 'demo', ...(multihop ? ['--multihop'] : [])], { reject: false, timeout: 120_000 });
      const out = String(r.stdout);
      assert.equal(r.exitCode, 0, `${out}\n${String(r.stderr)}`);
      const matches = [...out.matchAll(/PSK fingerprint {2}client ([0-9a-f]{16}) {3}relay ([0-9a-f]{16}) {3}identical/g)];
      assert.equal(matches.length, multihop ? 2 : 1, out);
      for (const mm of matches) assert.equal(mm[1], mm[2]);
      if (multihop) {
        assert.notEqual(matches[0]![1], matches[1]![1], 'independent PSKs');
        assert.match(out, /ping 10\.65\.0\.1 through the switched tunnels: 3\/3 received/);
        assert.ok(out.indexOf('exit hop') < out.indexOf('entry hop') && out.indexOf(': negotiated') > 0);
      } else {
        assert.match(out, /ping 10\.64\.0\.1 through the switched tunnel: 3\/3 received/);
      }
      assert.match(out, /torn down in \d+(\.\d)? ms\n?$/);
      // Times for people: whole milliseconds, one decimal below 10 ms, never float noise.
      assert.match(out, /switched and verified in \d+ attempts?, \d+(\.\d)? ms in all/);
      const ms = '\\d+(\\.\\d)? ms';
      const timings = out.split('\n').filter((l) => l.includes('timings:'));
      assert.equal(timings.length, multihop ? 2 : 1, out);
      for (const line of timings) assert.match(line, new RegExp(`timings: keygen ${ms}, rpc ${ms}, decaps ${ms}, switch ${ms}, verify ${ms}, total ${ms}$`));
      assert.doesNotMatch(out, /\d\.\d{2,} ms/, 'no time with more than one decimal');
      assert.ok(!out.includes('LEFT OVER'), out);
      ctx.diagnostic(out.split('\n').filter((l) => /timings|attempt,/.test(l)).join(' | '));
    });
  }
});
