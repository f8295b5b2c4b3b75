/**
 * The ways back: rollback of a failed switch to the working or parent key (proved to
 * work, or ROLLBACK_FAILED), and, when a run gives up, leaving every hop on a key that
 * carries traffic.
 */
import { PqpskError, messageOf } from '../errors.js';
import { REJECT_AFTER_MS } from '../protocol/wireguard.js';
import { throughHop } from './hop-route.js';
import { rollbackKey, type Claim, type HeldKey, type HopState } from './hop-state.js';
import { setKey, verifyChange, verifyOrder, type Change } from './key-switch.js';
import type { NegotiationCore } from './negotiation-deps.js';
import { netProbe, tunnelAnswers } from './probe.js';

/**
 * Put `hops` on their `target` key (and its PSK, or none), then show each tunnel works
 * again, outer first. Throws ROLLBACK_FAILED when one does not.
 */
export async function restoreHops(core: NegotiationCore, hops: readonly HopState[], target: Claim, cause: unknown, gone?: AbortSignal): Promise<void> {
  const changes: Change[] = [];
  const failures: string[] = [];
  const keys = new Map<HopState, HeldKey>();
  const which = (hop: HopState): string => (keys.get(hop) === hop.working ? 'previous' : 'parent');
  for (const hop of hops) {
    const key = rollbackKey(hop, target);
    keys.set(hop, key);
    try {
      changes.push(await setKey(core, hop, key.privateKey, key.psk, gone));
    } catch (err) {
      if (gone?.aborted === true) throw err;
      const message = `${hop.spec.iface}: could not restore the ${which(hop)} key: ${messageOf(err)}`;
      failures.push(message);
      core.emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: false, message });
    }
  }
  for (const i of verifyOrder(changes.map((c) => c.hop))) {
    const change = changes[i]!;
    const hop = change.hop;
    const label = which(hop);
    hop.adopt(keys.get(hop)!);
    try {
      await verifyChange(core, change, gone);
      core.emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: true });
    } catch (err) {
      if (gone?.aborted === true) throw err;
      const message = `${hop.spec.iface}: back on the ${label} key but the tunnel does not work: ${messageOf(err)}`;
      failures.push(message);
      core.emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: false, message });
    }
  }
  if (failures.length > 0) {
    throw new PqpskError('ROLLBACK_FAILED', `${messageOf(cause)}; rollback: ${failures.join('; ')}`, { cause });
  }
}

/**
 * After a run gave up: leave every hop on a key that carries traffic, outer hop first. A
 * hop whose key still gets an answer through its tunnel stays on it (a relay that is
 * down or refusing leaves a working ephemeral key alone); one that gets none — the relay
 * forgot its ephemeral key (a relay restart, a server-side `wg-quick down/up`) — goes
 * back to its parent key, which must then get one. Says where each hop was left, and
 * whether every one works.
 */
export async function settleHops(core: NegotiationCore, hops: readonly HopState[]): Promise<{ working: boolean; where: string }> {
  const answers = core.deps.answers ?? tunnelAnswers;
  const probe = core.deps.probe ?? netProbe;
  const timeoutMs = core.settings.verifyTimeoutMs;
  const handshake = async (hop: HopState): Promise<number> => (await core.deps.wg.latestHandshakes(hop.spec.iface)).get(hop.peer) ?? 0;
  // Evidence that the relay's WireGuard takes the hop's current key: the config service
  // answering through the tunnel, or a handshake made while we looked. The second needs
  // no config service, so a wrong --config-service (nothing on 10.64.0.1 when the relay
  // is on 10.8.0.1) is not taken for a dead tunnel. On a parent key the run never moved
  // from, a WireGuard session younger than reject-after-time counts too: a parent key is
  // configured on the relay, not registered, so nothing this run did can have made the
  // relay forget it, and a fresh session shows it took it.
  const works = (hop: HopState): Promise<boolean> =>
    throughHop(core, hop, async () => {
      const before = await handshake(hop);
      await probe.poke(hop.spec.service).catch(() => undefined);
      if (await answers(hop.spec.service, timeoutMs).catch(() => false)) return true;
      const after = await handshake(hop);
      if (after > before) return true;
      return hop.working === hop.parent && !hop.moved && after > 0 && core.clock.now() - after * 1000 < REJECT_AFTER_MS;
    });
  const said: string[] = [];
  let working = true;
  for (const i of verifyOrder(hops)) {
    const hop = hops[i]!;
    const onParent = (): boolean => hop.working === hop.parent;
    const key = (): string => (onParent() ? 'parent' : 'ephemeral');
    const where = (): string => `${hop.spec.iface} ${hop.moved && onParent() ? 'back' : 'left'} on its ${key()} key`;
    if (await works(hop)) {
      said.push(`${where()}, which works`);
      continue;
    }
    if (onParent()) {
      said.push(`${where()}, but nothing answers through the tunnel: is the relay's WireGuard up and reachable?`);
      working = false;
      continue;
    }
    try {
      await setKey(core, hop, hop.parent.privateKey, hop.parent.psk, undefined);
      hop.adopt(hop.parent);
    } catch (err) {
      said.push(`${where()}, which gets no answer, and could not go back to its parent key: ${messageOf(err)}`);
      working = false;
      continue;
    }
    const back = await works(hop);
    core.emit({ kind: 'rolled-back', role: hop.spec.role, iface: hop.spec.iface, working: back });
    if (back) {
      said.push(`${where()}, which works (its ephemeral key got no answer)`);
    } else {
      said.push(`${where()}, but nothing answers through the tunnel on either key: is the relay's WireGuard up and reachable?`);
      working = false;
    }
  }
  return { working, where: said.join('; ') };
}

