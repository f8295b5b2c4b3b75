/**
 * Child process for test/e2e/teardown-signals.test.ts: builds a single hop, starts a
 * long-running process in it, prints `{suffix, pids}` and then ends as told by argv[2]:
 * `wait` (until signalled), `exit` (process.exit(3) without teardown), `throw` (uncaught error).
 */
import { buildSingleHop } from '../../src/testbed/index.js';

const mode = process.argv[2] ?? 'wait';
const { bed, topology } = await buildSingleHop();
bed.spawnIn(topology.client.namespace, ['sleep', '600']);
process.stdout.write(`${JSON.stringify({ suffix: topology.suffix, pids: bed.resources().pids })}\n`);
if (mode === 'exit') process.exit(3);
if (mode === 'throw') setImmediate(() => {
  throw new Error('deliberate uncaught error (bed-child)');
});
setInterval(() => undefined, 60_000);
