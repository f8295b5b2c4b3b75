/**
 * The herd's load generator as a process of its own (relay-herd.ts forks it with the
 * `advanced` IPC serialization, so keys arrive as bytes): one message with the herd's
 * options, one message back with its outcome, including this process's own CPU, which
 * the benchmark reports beside the relay's.
 */
import { runHerd, type HerdOptions } from './herd-load.js';

if (process.send !== undefined) {
  process.once('message', (options: HerdOptions) => {
    void runHerd(options).then(
      (outcome) => process.send?.(outcome, () => process.disconnect()),
      () => process.exit(1),
    );
  });
  // The benchmark going away takes the herd with it.
  process.on('disconnect', () => process.exit(0));
}
