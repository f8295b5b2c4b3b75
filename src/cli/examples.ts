/**
 * Where the examples (systemd units, wg-quick file, nftables rule, networkd recipe) are on
 * this machine, so that help text and warnings name a path that exists — inside the
 * installed package, not a path relative to a clone the user may never have made.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of `examples/<relative>` in the package this command runs from (dist/src/cli/ → the package root). */
export function examplePath(relative: string): string {
  return fileURLToPath(new URL(`../../../examples/${relative}`, import.meta.url));
}
