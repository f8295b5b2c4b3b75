/**
 * The `wg` stand-in's key reader, a worker thread of its server (wg-standin-server.ts):
 * reads the key paths of one `wg set` as `wg` does, in argv order, each opened and read
 * to EOF with blocking calls before the next is opened. The relay feeds its FIFOs in that
 * order, one waiting writer at a time, so a reader that took them in another order or
 * several at once could wait forever. Node's asynchronous file calls took several
 * event-loop turns of the stand-in per key (open, stat, reads, close), each a wake-up
 * that waits for a core on a loaded machine, where `wg` reads a key in microseconds.
 * Blocking here holds only this thread: the server keeps answering other calls
 * meanwhile, as other `wg` processes would.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/** What the server asks: the key paths of one `set`, in argv order. */
export interface ReadRequest {
  readonly id: number;
  readonly paths: readonly string[];
}

/** What this thread answers: for each path whether it held a key (anything beyond whitespace), or the error that stopped it. */
export type ReadReply = { readonly id: number; readonly set: readonly boolean[] } | { readonly id: number; readonly error: string };

/** Reads `path` to EOF, wiping what it read; whether it held anything beyond whitespace. */
function readKey(path: string, buffer: Buffer): boolean {
  const fd = openSync(path, 'r');
  let set = false;
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return set;
      for (let i = 0; i < n; i++) if (buffer[i]! > 0x20) set = true;
      buffer.fill(0, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

function serve(port: NonNullable<typeof parentPort>): void {
  const buffer = Buffer.alloc(4096);
  port.on('message', ({ id, paths }: ReadRequest) => {
    try {
      port.postMessage({ id, set: paths.map((p) => readKey(p, buffer)) } satisfies ReadReply);
    } catch (err) {
      port.postMessage({ id, error: (err as NodeJS.ErrnoException).code ?? 'error' } satisfies ReadReply);
    }
  });
}

if (parentPort !== null) serve(parentPort);
