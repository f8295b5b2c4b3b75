/**
 * The memory settings pqpsk runs with, in a module that imports nothing: the build writes
 * them into the installed command's launcher line (scripts/bundle-cli.mjs), and whatever
 * starts pqpsk some other way — the test bed, the benchmark's relay process — takes them
 * from here, so the relay measured is the relay installed. Both are read once, when the
 * process starts (V8 sizes its heap, glibc sets up malloc), so they can only be given on
 * the command line and in the environment, never set later.
 *
 * Why these: a relay lives long, keeps little (a few MB per 10 000 peers), and works in
 * short bursts whose temporaries are mostly copies of its picture of the interface.
 * - `--max-semi-space-size=2`: the young generation stays at 2 × 2 MB instead of growing
 *   to 2 × 16 MB, which a relay's light allocation never needed; that was 32 MB of
 *   resident memory for nothing.
 * - `--heap-growing-percent=100`: after each full collection the old generation may grow
 *   to twice what survived before the next one, instead of up to four times: at 10 000
 *   peers each registration batch leaves a few MB of superseded interface reads in the
 *   old generation, and with the default the heap climbed to ~115 MB of mostly garbage
 *   before V8 collected it, and kept those pages afterwards.
 * - `MALLOC_MMAP_THRESHOLD_=131072`: every read of the interface arrives as megabyte
 *   buffers (the helper process's answer, its copies, its text). glibc serves blocks
 *   from 128 KB up with mmap and returns them when freed, but after the first such free
 *   it raises that threshold to the block's size, and from then on carves them out of
 *   its heap, which fragments and never shrinks: 22 MB of it at 10 000 peers. Setting
 *   the threshold keeps it at 128 KB (other C libraries ignore the variable).
 * Measured on the benchmark's 10 000-peer relay and the registration paths, see README.md
 * ("Performance").
 */
export const NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=2', '--heap-growing-percent=100']);

/** The environment pqpsk runs with (see above), as NAME=value words. */
export const NODE_ENVIRONMENT: readonly string[] = Object.freeze(['MALLOC_MMAP_THRESHOLD_=131072']);

/** The words that start `node` with these settings: `env`, the environment, node, its flags. */
export function launcherArgv(node: string): string[] {
  return ['/usr/bin/env', ...NODE_ENVIRONMENT, node, ...NODE_FLAGS];
}

/**
 * The installed command's first line: `env -S` (GNU coreutils ≥ 8.30, FreeBSD, macOS)
 * splits it, because the kernel hands everything after the interpreter to it as one
 * argument.
 */
export function launcherLine(): string {
  return `#!/usr/bin/env -S ${launcherArgv('node').slice(1).join(' ')}`;
}
