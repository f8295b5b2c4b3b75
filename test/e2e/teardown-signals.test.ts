/**
 * End-to-end: a process that holds a bed tears it down however it ends — SIGINT, SIGTERM,
 * process.exit() or an uncaught error — and still dies the way it would have.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { e2eSkip, requireBed } from './gate.js';
import { assertNothingLeft, waitGone } from './helpers.js';

const CHILD = fileURLToPath(new URL('./bed-child.js', import.meta.url));

async function runChild(mode: string, signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; signal: string | undefined; suffix: string; pids: number[] }> {
  const child = execa(process.execPath, [CHILD, mode], { reject: false, buffer: { stdout: false, stderr: true }, stdout: 'pipe' });
  const first = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl !== -1) resolve(text.slice(0, nl));
    });
    child.stdout!.on('end', () => reject(new Error(`child printed nothing: ${text}`)));
  });
  const info = JSON.parse(first) as { suffix: string; pids: number[] };
  assert.equal(info.pids.length, 3, 'two wireguard-go and one sleep');
  if (signal !== undefined) child.kill(signal);
  const r = await child;
  return { exitCode: r.exitCode, signal: r.signal, ...info };
}

describe('e2e against real wireguard-go: teardown on every way out', { skip: e2eSkip() }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`real wireguard-go: ${signal} tears the bed down, then the process dies of ${signal}`, async () => {
      requireBed();
      const r = await runChild('wait', signal);
      assert.equal(r.signal, signal);
      assert.deepEqual(await waitGone(r.pids), []);
      await assertNothingLeft(r.suffix);
    });
  }

  test('real wireguard-go: process.exit() without teardown still kills and deletes (exit handler)', async () => {
    requireBed();
    const r = await runChild('exit');
    assert.equal(r.exitCode, 3);
    assert.deepEqual(await waitGone(r.pids), []);
    await assertNothingLeft(r.suffix);
  });

  test('real wireguard-go: an uncaught error still kills and deletes', async () => {
    requireBed();
    const r = await runChild('throw');
    assert.equal(r.exitCode, 1);
    assert.deepEqual(await waitGone(r.pids), []);
    await assertNothingLeft(r.suffix);
  });
});
