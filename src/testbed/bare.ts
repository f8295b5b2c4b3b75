/**
 * Bare wireguard-go interfaces: one per-run namespace holding only its loopback and the
 * interfaces' TUN devices (no underlay, no endpoints), so the interfaces never send a
 * packet. A process in the root namespace drives them with the real `wg`, which reaches
 * wireguard-go through its UAPI socket by name (the socket directory is shared by all
 * namespaces; see bed.ts). The benchmark runs its relay against these. The Bed records
 * everything for teardown.
 */
import { generatePrivateKey } from '../wg/keys.js';
import { Bed } from './bed.js';
import { linkName } from './names.js';

/** The bed, its one namespace, and per interface its name and wireguard-go pid. */
export interface BareInterfaces {
  readonly bed: Bed;
  readonly namespace: string;
  /** Interface names, in the order asked for. */
  readonly ifaces: readonly string[];
  /** wireguard-go's pid per interface (`ip netns exec` execs it, so the pid is its own). */
  readonly pids: readonly number[];
}

/** A namespace with one wireguard-go interface per tag (1-3 characters each), keys set. */
export async function buildBareInterfaces(tags: readonly string[]): Promise<BareInterfaces> {
  const bed = new Bed();
  try {
    const ns = await bed.addNamespace('bench');
    const ifaces = tags.map((tag) => linkName(bed.suffix, tag));
    for (const iface of ifaces) {
      await bed.addWireguard(ns, iface);
      const key = generatePrivateKey();
      try {
        await bed.wg(ns).set(iface, { privateKey: key });
      } finally {
        key.fill(0);
      }
    }
    return { bed, namespace: ns, ifaces, pids: bed.resources().pids.slice(0, ifaces.length) };
  } catch (err) {
    await bed.teardown();
    throw err;
  }
}
