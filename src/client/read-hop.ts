/**
 * Reading an interface into a hop: which peer is the relay, which key the interface is on
 * (and whether it carries a PSK), and which key is its parent — refused when a failed
 * switch could not be undone.
 */
import { PqpskError } from '../errors.js';
import { publicKeyFromText, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import type { WgControl } from '../wg/types.js';
import { HopState, type HeldKey } from './hop-state.js';
import type { HopSpec } from './types.js';

/**
 * One hop's state from its interface. `parentPrivateKey` (or null: not given) becomes the
 * hop's, or is wiped here when it is the key the interface is on already.
 */
export async function readHop(hop: HopSpec, wg: Pick<WgControl, 'summary' | 'readPrivateKey'>, parentPrivateKey: Uint8Array | null): Promise<HopState> {
  const state = await wg.summary(hop.iface);
  let peer: string;
  if (hop.peer !== null) {
    if (!state.peers.some((p) => p.publicKey === hop.peer)) {
      throw new PqpskError('NOT_FOUND', `${hop.iface}: no peer with the public key given by --peer`);
    }
    if (state.peers.length > 1 && hop.allowOtherPeers !== true) {
      throw new PqpskError(
        'INVALID_INPUT',
        `${hop.iface} has ${state.peers.length} peers: switching the interface key breaks every other peer's tunnel; pass --allow-other-peers if that is what you want`,
      );
    }
    peer = hop.peer;
  } else if (state.peers.length === 1) {
    peer = state.peers[0]!.publicKey;
  } else {
    throw new PqpskError('INVALID_INPUT', `${hop.iface} has ${state.peers.length} peers; name the relay with --peer`);
  }
  if (state.publicKey === '') {
    throw new PqpskError('NOT_FOUND', `WireGuard interface ${hop.iface} has no private key`);
  }
  const hasPsk = state.peers.find((p) => p.publicKey === peer)?.hasPresharedKey === true;
  if (hasPsk && parentPrivateKey === null) {
    throw new PqpskError(
      'SETUP',
      `${hop.iface} already has a PSK for its relay (from an earlier run?) and its parent key is not known: pqpsk does not read PSKs back, so a failed switch could not be undone; give the wg-quick file with --config-file, or bring the tunnel down and up again`,
    );
  }
  const publicKey = publicKeyFromText(`${hop.iface} public key`, state.publicKey);
  const privateKey = await wg.readPrivateKey(hop.iface);
  const working: HeldKey = { privateKey, publicKey, publicKeyText: state.publicKey, psk: hasPsk ? 'unread' : null };
  if (parentPrivateKey === null) return new HopState(hop, peer, working, working);
  const parentPublic = publicKeyOf(parentPrivateKey);
  const parentText = publicKeyToText(parentPublic);
  if (parentText === state.publicKey && !hasPsk) {
    parentPrivateKey.fill(0);
    return new HopState(hop, peer, working, working);
  }
  return new HopState(hop, peer, working, { privateKey: parentPrivateKey, publicKey: parentPublic, publicKeyText: parentText, psk: null });
}

/** The hops must be one single hop, or an entry and an exit on two interfaces. */
export function checkHops(hops: readonly HopSpec[]): void {
  const roles = hops.map((h) => h.role).sort().join(',');
  if (roles !== 'single' && roles !== 'entry,exit') {
    throw new PqpskError('INVALID_INPUT', 'hops: expected one single hop, or an entry and an exit');
  }
  if (hops.length === 2 && hops[0]!.iface === hops[1]!.iface) {
    throw new PqpskError('INVALID_INPUT', 'hops: expected the entry and the exit on two different interfaces');
  }
}
