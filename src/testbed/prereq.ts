/**
 * Can this machine build a bed? Root (namespaces, veths, TUN) and four programs. The
 * answer is one line, so a skipped test or `pqpsk demo` can say exactly why.
 */
import { constants, accessSync, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The programs a bed runs, and the package that provides each (Debian/Ubuntu names). */
export const BED_TOOLS: readonly { readonly program: string; readonly pkg: string }[] = [
  { program: 'ip', pkg: 'iproute2' },
  { program: 'wg', pkg: 'wireguard-tools' },
  { program: 'wireguard-go', pkg: 'wireguard-go' },
  { program: 'ping', pkg: 'iputils-ping' },
];

/** `{ ok: true }`, or the first reason a bed cannot be built here. */
export function bedPrerequisites(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'needs root (network namespaces, veth pairs and TUN devices)' };
  }
  const missing = BED_TOOLS.filter((t) => !onPath(t.program));
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `missing ${missing.map((t) => `\`${t.program}\``).join(', ')} (install ${missing.map((t) => t.pkg).join(' ')})`,
    };
  }
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: 'no /dev/net/tun (wireguard-go needs a TUN device)' };
  return { ok: true };
}

/** Whether `program` is an executable file in some PATH directory. */
export function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
