/**
 * Keeps `npm run bench` from rotting: runs `main.js --quick --json` (a few seconds, no
 * bed) in a child process and checks the shape of what it prints — every section present,
 * figures finite where they were measured, a reason where they were not, one status per
 * target — then renders the table from that object. No figure is compared with a target
 * or a duration: speed belongs in the benchmark, not in a test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { formatReport, type BenchReport } from '../../bench/report.js';

const MAIN = fileURLToPath(new URL('../../bench/main.js', import.meta.url));

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const finite = (x: unknown, what: string): void => assert.ok(typeof x === 'number' && Number.isFinite(x), `${what}: expected a finite number, got ${String(x)}`);

test('bench --quick --json: one JSON object with every section, then the table renders from it', async () => {
  const r = await run(['--quick', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'stdout holds exactly one line (progress goes to stderr)');
  const report = JSON.parse(lines[0]!) as BenchReport;

  assert.equal(report.version, 1);
  assert.equal(report.quick, true);

  const ops = report.kem.timings.map((t) => `${t.kem} ${t.operation}`);
  for (const kem of ['ML-KEM-1024', 'HQC-256']) {
    for (const op of ['keygen', 'encapsulate', 'decapsulate']) assert.ok(ops.includes(`${kem} ${op}`), `${kem} ${op} timed`);
  }
  for (const t of report.kem.timings) {
    finite(t.medianMs, `${t.kem} ${t.operation} median`);
    finite(t.p90Ms, `${t.kem} ${t.operation} p90`);
  }
  if (report.kem.native.installed) assert.ok(report.kem.native.timings.length > 0);
  else assert.match(report.kem.native.reason, /\S/);

  assert.equal(report.negotiation.measured, false, '--quick builds no bed');
  if (!report.negotiation.measured) assert.match(report.negotiation.reason, /--quick/);
  assert.equal(report.mullvad.measured, false, "--quick runs no client beside Mullvad's");

  assert.ok(report.throughput.rows.length >= 1);
  // The profiled run names where the relay's event loop spent its time.
  assert.ok(report.throughput.profiles.length >= 1 && report.throughput.profiles[0]!.summary.modules.length > 0);
  for (const row of report.throughput.rows) {
    assert.equal(row.wg, 'fake');
    for (const [k, v] of Object.entries({
      regs: row.registrationsPerSecond,
      ceiling: row.ceilingPerSecond,
      ratio: row.ratio,
      loop: row.eventLoopP99Ms,
      handler: row.breakdown.handlerMs,
      kem: row.kemCpu.totalMs,
      relayCpu: row.cpu.relayMsPerRegistration ?? Number.NaN,
    })) {
      finite(v, `throughput ${k}`);
    }
    assert.deepEqual(row.failures, {}, 'no failed registration');
  }

  const idle = report.memory.idle;
  assert.ok('rssBytes' in idle && idle.rssBytes > 0);
  const ten = report.memory.tenThousand;
  assert.ok('peers' in ten, JSON.stringify(ten));
  assert.ok(ten.peers > 0 && ten.registrations > 0);
  finite(ten.loaded.rssBytes, 'loaded RSS');
  finite(ten.pollerTickMs, 'watcher pass');
  assert.deepEqual(ten.failures, {});
  assert.ok((ten.loaded.wgStandIn?.calls['set'] ?? 0) > 0, 'the 10 000-peer row runs on the stand-in');
  assert.equal(ten.loaded.wgStandIn?.refusedSecret, 0);
  assert.equal('measured' in report.memory.realThousand && report.memory.realThousand.measured, false);

  assert.ok(report.startup.measured, 'start-up needs only node');
  if (report.startup.measured) {
    assert.deepEqual(report.startup.rows.map((r) => r.command), ['node -e 0', 'pqpsk --help', 'pqpsk negotiate, no such interface']);
    for (const row of report.startup.rows) finite(row.medianMs, `${row.command} median`);
  }

  const flood = report.flood;
  assert.ok(flood.measured, 'the flood section needs only node');
  if (flood.measured) {
    for (const p of [flood.unloaded, flood.flood]) {
      assert.ok(p.registrations > 0 && p.failures === 0, JSON.stringify(p));
      finite(p.eventLoopP99Ms, 'flood loop p99');
    }
    finite(flood.latencyRatio, 'flood latency ratio');
    // The relay ran on the stand-in, and never a form whose output carries a secret.
    assert.ok((flood.wgStandIn?.calls['show allowed-ips'] ?? 0) > 0, JSON.stringify(flood.wgStandIn));
    assert.equal(flood.wgStandIn?.refusedSecret, 0);
  }

  const cold = report.cold;
  assert.ok(cold.relay.measured, `the cold-start section needs only node: ${JSON.stringify(cold.relay)}`);
  if (cold.relay.measured) {
    assert.deepEqual(cold.relay.rows.map((r) => r.algorithm), ['ML-KEM-1024', 'HQC-256']);
    for (const r of cold.relay.rows) finite(r.ratio, `${r.algorithm} first ÷ steady`);
  }
  assert.ok(cold.client.measured);
  if (cold.client.measured) finite(cold.client.ratio, 'client cold ÷ warm');
  // Each cold-start figure is printed with its goal beside it.
  const coldTargets = report.targets.filter((t) => /first 10 registrations ÷ steady ≤ 1\.5|cold ÷ warm ≤ 3/.test(t.target)).map((t) => t.target);
  assert.deepEqual(coldTargets, [
    'relay ML-KEM-1024 encapsulation, first 10 registrations ÷ steady ≤ 1.5',
    'relay HQC-256 encapsulation, first 10 registrations ÷ steady ≤ 1.5',
    'pqpsk negotiate keygen + decaps, cold ÷ warm ≤ 3',
  ]);

  const herd = report.herd;
  assert.ok(herd.measured, `the herd section needs only node: ${JSON.stringify(herd)}`);
  if (herd.measured) {
    assert.equal(herd.gaveUp + herd.unhealed, 0, `every client of the herd healed: ${JSON.stringify(herd.failures)}`);
    for (const [k, v] of Object.entries({ t50: herd.t50Ms, t99: herd.t99Ms, t100: herd.t100Ms, loop: herd.eventLoopP99Ms, rss: herd.rssPeakMb, load: herd.loadCpuMs })) finite(v, `herd ${k}`);
  }
  // Each herd figure is printed with its goal beside it.
  assert.deepEqual(
    report.targets.filter((t) => t.target.startsWith('herd')).map((t) => t.target),
    [
      'herd of 50: 99 % hold a fresh PSK within 60 s of a relay restart',
      'herd: relay event-loop p99 ≤ 50 ms',
      'herd: /healthz round trip ≤ 1000 ms throughout (max)',
      'herd: clients that gave up or were still unhealed at the horizon = 0',
    ],
  );

  assert.ok(report.targets.length >= 4);
  for (const t of report.targets) assert.ok(['pass', 'miss', 'not measured'].includes(t.status), t.target);
  // The 10 000-peer target cannot be judged from a smoke run's few hundred peers.
  assert.equal(report.targets.find((t) => t.target.startsWith('RSS'))?.status, 'not measured');

  const table = formatReport(report);
  for (const heading of ['1. KEM operations', '2. Client negotiation', '3. Relay throughput', '4. Relay memory', '5. CLI start-up', '7. Relay under a flood', "8. Mullvad's own client", '9. Cold start', '10. Relay restart under a herd', 'Targets']) {
    assert.ok(table.includes(heading), `table has "${heading}"`);
  }
  assert.match(table, /QUICK smoke run/);
});

test('bench --only runs the named sections and says the others were not selected', async () => {
  const r = await run(['--quick', '--json', '--only', 'startup']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.equal(report.startup.measured, true);
  assert.deepEqual(report.kem.timings, []);
  assert.deepEqual(report.throughput.rows, []);
  assert.ok('measured' in report.memory.idle && report.memory.idle.reason.includes('--only startup'));
  assert.match(formatReport(report), /not selected \(--only startup\)/);
});

test('bench rejects an unknown section for --only with one line and exit code 2', async () => {
  const r = await run(['--only', 'kem,speed']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^pqpsk bench: --only: no section speed \(flags: .*\)$/);
});

test('bench rejects an unknown flag with one line and exit code 2', async () => {
  const r = await run(['--fast']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^pqpsk bench: .*--quick, --json\)$/);
});
