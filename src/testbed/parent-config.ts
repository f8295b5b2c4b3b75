/** A wg-quick file for `negotiate --config-file`, written from a bed interface's parent key. */
import { writeFile } from 'node:fs/promises';
import { encodeKeyBase64 } from '../wg/keys.js';
import type { Bed } from './bed.js';

/**
 * A wg-quick file at `path` (mode 0600) holding the interface's current private key — the
 * bed's parent key (a throwaway test key) — for `negotiate --config-file`.
 */
export async function writeParentConfig(bed: Bed, ns: string, iface: string, path: string): Promise<void> {
  const key = await bed.wg(ns).readPrivateKey(iface);
  const text = encodeKeyBase64('test parent key', key);
  key.fill(0);
  try {
    await writeFile(path, Buffer.concat([Buffer.from('[Interface]\nPrivateKey = '), text, Buffer.from('\n')]), { mode: 0o600 });
  } finally {
    text.fill(0);
  }
}
