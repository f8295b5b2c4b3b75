/**
 * What the holder of an interface's lock said about itself, checked field by field. Only
 * the lock directory's owner can bind there, but what answers may still not be a pqpsk of
 * this version (another tool, a path reused), so its line is untrusted input:
 * a reply is either entirely well-formed — known names, integers in range, keys and
 * fingerprints of the right shape — or it is rejected as a whole. Strings it carries
 * are kept to printable ASCII, so nothing it says can move a terminal's cursor.
 */
import type { WatchStatus } from './watch.js';
import type { TunnelPhase } from './watch-policy.js';

/** A checked reply: only the fields below, each of its declared type. */
export interface HolderReply {
  readonly pid: number;
  /** `negotiate` (one-shot) or `watch`. */
  readonly mode: 'negotiate' | 'watch';
  readonly leaving: boolean;
  readonly interfaces: Readonly<Record<string, number>>;
  /** A watcher's status; null for a one-shot run or a watcher not yet open. */
  readonly status: WatchStatus | null;
}

/** The largest reply worth reading: a two-hop watcher's status is well under 2 KiB. */
export const MAX_REPLY_BYTES = 16 * 1024;

/** The longest free-text field (the last error) kept from a reply. */
const MAX_TEXT = 500;

const PHASES: ReadonlySet<string> = new Set<TunnelPhase>(['starting', 'protected', 'suspect', 'dead', 'unprotected', 'outage']);
const ROLES: ReadonlySet<string> = new Set(['single', 'entry', 'exit']);
/** The kernel's largest pid (PID_MAX_LIMIT on 64-bit). */
const PID_MAX = 4_194_304;
/** Times are epoch milliseconds (not always whole: a rotation's jitter is not) before the year 10000. */
const TIME_MAX = 253_402_300_800_000;
const IFACE = /^[A-Za-z0-9_=+.-]{1,15}$/;
/** A WireGuard key in base64 (32 bytes: 43 characters, the last of 4 bits, and `=`). */
export const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const FINGERPRINT = /^[0-9a-f]{16}$/;
/** ip:port or [ipv6]:port, as --service takes it. */
const SERVICE = /^(?:[0-9.]{7,15}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}$/;

/** `text` with everything but printable ASCII removed (control characters, escapes, non-ASCII). */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '');
}

/** The reply in `line` if every field is well-formed; null otherwise (any defect rejects it all). */
export function parseHolderReply(line: string): HolderReply | null {
  if (line.length > MAX_REPLY_BYTES) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(raw)) return null;
  const { pid, mode, leaving, interfaces, status } = raw;
  if (!isInt(pid, 1, PID_MAX) || (mode !== 'negotiate' && mode !== 'watch')) return null;
  if (leaving !== undefined && typeof leaving !== 'boolean') return null;
  const ifaces = interfaces === undefined ? {} : checkInterfaces(interfaces);
  if (ifaces === null) return null;
  let watch: WatchStatus | null = null;
  if (status !== undefined && status !== null) {
    if (mode !== 'watch') return null;
    watch = checkStatus(status);
    if (watch === null) return null;
  }
  return { pid, mode, leaving: leaving ?? false, interfaces: ifaces, status: watch };
}

function checkInterfaces(value: unknown): Record<string, number> | null {
  if (!isRecord(value)) return null;
  const entries = Object.entries(value);
  if (entries.length > 2) return null;
  const out: Record<string, number> = {};
  for (const [name, index] of entries) {
    if (!IFACE.test(name) || !isInt(index, 0, 0x7fff_ffff)) return null;
    out[name] = index;
  }
  return out;
}

function checkStatus(value: unknown): WatchStatus | null {
  if (!isRecord(value)) return null;
  const s = value;
  if (typeof s['phase'] !== 'string' || !PHASES.has(s['phase'])) return null;
  if (typeof s['protected'] !== 'boolean' || typeof s['onEphemeral'] !== 'boolean') return null;
  if (!isTime(s['negotiatedAt']) || !isTime(s['nextRotationAt'])) return null;
  if (!isInt(s['rotations'], 0, Number.MAX_SAFE_INTEGER) || !isInt(s['recoveries'], 0, Number.MAX_SAFE_INTEGER)) return null;
  const lastError = s['lastError'];
  if (lastError !== null && typeof lastError !== 'string') return null;
  const hops = s['hops'];
  if (!Array.isArray(hops) || hops.length < 1 || hops.length > 2) return null;
  const checked: WatchStatus['hops'][number][] = [];
  for (const h of hops as unknown[]) {
    const hop = checkHop(h);
    if (hop === null) return null;
    checked.push(hop);
  }
  return {
    phase: s['phase'] as TunnelPhase,
    protected: s['protected'],
    onEphemeral: s['onEphemeral'],
    negotiatedAt: s['negotiatedAt'],
    nextRotationAt: s['nextRotationAt'],
    rotations: s['rotations'],
    recoveries: s['recoveries'],
    lastError: lastError === null ? null : printable(lastError).slice(0, MAX_TEXT),
    hops: checked,
  };
}

/** One hop as a watcher reports it (or as a one-shot run noted it), or null at any defect. */
export function checkHop(value: unknown): WatchStatus['hops'][number] | null {
  if (!isRecord(value)) return null;
  const { role, interface: iface, service, publicKey, parentPublicKey, pskFingerprint } = value;
  if (typeof role !== 'string' || !ROLES.has(role)) return null;
  if (typeof iface !== 'string' || !IFACE.test(iface)) return null;
  if (service !== undefined && (typeof service !== 'string' || !SERVICE.test(service))) return null;
  if (typeof publicKey !== 'string' || !WG_KEY.test(publicKey) || typeof parentPublicKey !== 'string' || !WG_KEY.test(parentPublicKey)) return null;
  if (pskFingerprint !== null && (typeof pskFingerprint !== 'string' || !FINGERPRINT.test(pskFingerprint))) return null;
  return { role, interface: iface, ...(service === undefined ? {} : { service }), publicKey, parentPublicKey, pskFingerprint };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** An epoch-milliseconds time in range, or null. */
export function isTime(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= TIME_MAX);
}
