/**
 * Whether the host's firewall keeps the relay service inside the tunnel: `nft list
 * ruleset` (no secret in it) and a pure check of its text for a rule that drops the
 * service port on every interface but the WireGuard one (examples/nftables-pqpsk.nft).
 */
import { inProcessLauncher } from './launcher.js';

/**
 * True when some rule drops TCP to `port` unless it arrived on `iface` — the form
 * `nft list ruleset` prints for the example: `iifname != "wg0" tcp dport 1337 drop`.
 */
export function rulesetGuardsService(ruleset: string, iface: string, port: number): boolean {
  return ruleset.split('\n').some((line) => {
    const words = line.trim();
    const notIface = words.includes(`iifname != "${iface}"`) || words.includes(`iifname != ${iface}`) || words.includes(`iif != "${iface}"`);
    return notIface && new RegExp(`\\bdport ${port}\\b`).test(words) && /\b(drop|reject)\b/.test(words);
  });
}

/** `nft list ruleset`, or null when nft is missing or fails (no permission, no nf_tables). */
export async function readNftRuleset(): Promise<string | null> {
  const r = await inProcessLauncher.launch('nft', ['list', 'ruleset'], { timeoutMs: 5000, env: { LC_ALL: 'C' } }).done;
  return r.spawnCode !== null || r.timedOut || r.exitCode !== 0 ? null : new TextDecoder().decode(r.stdout);
}
