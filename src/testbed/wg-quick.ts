/**
 * A self-hoster's set-up on the bed, brought up the way they bring it up: a server with
 * `Address = 10.8.0.1/24` and a full-tunnel client (`AllowedIPs = 0.0.0.0/0`), each from
 * its own wg-quick file, joined by a veth underlay. The files hold private keys, as the
 * user's own do; they are written into a private 0700 directory made for the run, and
 * `close()` takes both tunnels down and removes the directory. The client's PostUp line
 * finds `pqpsk` on the PATH the bed gives wg-quick, as an installed one would be.
 *
 *   client ns                                     server ns
 *   wq 10.8.0.2/24 ── veth 198.51.100.2 ── 198.51.100.1:51820 ws 10.8.0.1/24
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKeyBase64, generatePrivateKey, publicKeyOf, publicKeyToText } from '../wg/keys.js';
import { Bed } from './bed.js';
import type { RunResult } from './exec.js';
import { linkName } from './names.js';
import { PQPSK_ARGV } from './pqpsk.js';
import { RELAY_PORT } from './topologies.js';

/** The server's tunnel address, as self-hosting guides write it. */
export const SELF_HOSTED_SERVER = '10.8.0.1';
/** The client's tunnel address. */
export const SELF_HOSTED_CLIENT = '10.8.0.2';

/** One end: its namespace, interface (named after its file), file and public key. */
export interface WgQuickEnd {
  readonly namespace: string;
  readonly iface: string;
  /** The wg-quick file, `<iface>.conf` in the private directory. */
  readonly conf: string;
  readonly publicKey: string;
}

/** What the server's and the client's files say beyond the keys. */
export interface WgQuickOptions {
  /** The client's PostUp line, `%i` and all (none when absent); a function gets the private directory. */
  readonly clientPostUp?: string | ((dir: string) => string);
  /** More addresses on the server's interface besides 10.8.0.1/24, e.g. `10.64.0.1/32`. */
  readonly serverExtraAddresses?: readonly string[];
}

/** A built self-hosted pair; nothing is up until `up` is called. */
export interface WgQuickPair {
  readonly bed: Bed;
  /** The private directory holding the files (and whatever a test puts beside them). */
  readonly dir: string;
  readonly server: WgQuickEnd;
  readonly client: WgQuickEnd;
  /** `wg-quick up <file>` inside the end's namespace, with `pqpsk` on the PATH. */
  up(end: WgQuickEnd): Promise<RunResult>;
  /** `wg-quick down <file>` inside the end's namespace. */
  down(end: WgQuickEnd): Promise<RunResult>;
  /** Takes both ends down (whatever they are in), tears the bed down, removes the directory. */
  close(): Promise<void>;
}

/** Writes the two files and the underlay; on failure removes what it made. */
export async function buildWgQuickPair(options: WgQuickOptions = {}): Promise<WgQuickPair> {
  const bed = new Bed();
  const dir = await mkdtemp(join(tmpdir(), 'pqpsk-wgquick-'));
  try {
    await chmod(dir, 0o700);
    const s = bed.suffix;
    const [clientNs, serverNs] = await Promise.all([bed.addNamespace('client'), bed.addNamespace('server')]);
    await bed.addVeth([clientNs, linkName(s, 'vc'), '198.51.100.2/24'], [serverNs, linkName(s, 'vs'), '198.51.100.1/24']);
    const bin = join(dir, 'bin');
    await mkdir(bin, { mode: 0o700 });
    await writeFile(join(bin, 'pqpsk'), `#!/bin/sh\nexec ${PQPSK_ARGV.map(shellQuote).join(' ')} "$@"\n`, { mode: 0o700 });

    const serverKey = generatePrivateKey();
    const clientKey = generatePrivateKey();
    let server: WgQuickEnd;
    let client: WgQuickEnd;
    try {
      const serverIface = linkName(s, 'ws');
      const clientIface = linkName(s, 'wq');
      server = { namespace: serverNs, iface: serverIface, conf: join(dir, `${serverIface}.conf`), publicKey: publicKeyToText(publicKeyOf(serverKey)) };
      client = { namespace: clientNs, iface: clientIface, conf: join(dir, `${clientIface}.conf`), publicKey: publicKeyToText(publicKeyOf(clientKey)) };
      await writeConf(server.conf, serverKey, [
        `Address = ${[`${SELF_HOSTED_SERVER}/24`, ...(options.serverExtraAddresses ?? [])].join(', ')}`,
        `ListenPort = ${RELAY_PORT}`,
      ], [`PublicKey = ${client.publicKey}`, `AllowedIPs = ${SELF_HOSTED_CLIENT}/32`]);
      await writeConf(client.conf, clientKey, [
        `Address = ${SELF_HOSTED_CLIENT}/24`,
        ...(options.clientPostUp === undefined ? [] : [`PostUp = ${typeof options.clientPostUp === 'string' ? options.clientPostUp : options.clientPostUp(dir)}`]),
      ], [`PublicKey = ${server.publicKey}`, `Endpoint = 198.51.100.1:${RELAY_PORT}`, 'AllowedIPs = 0.0.0.0/0', 'PersistentKeepalive = 25']);
    } finally {
      serverKey.fill(0);
      clientKey.fill(0);
    }
    bed.recordWgInterface(server.iface);
    bed.recordWgInterface(client.iface);

    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    const pair: WgQuickPair = {
      bed,
      dir,
      server,
      client,
      up: (end) => bed.runIn(end.namespace, ['wg-quick', 'up', end.conf], { env, timeoutMs: 120_000 }),
      down: (end) => bed.runIn(end.namespace, ['wg-quick', 'down', end.conf], { env, timeoutMs: 60_000 }),
      close: async () => {
        try {
          for (const end of [client, server]) {
            if ((await bed.runIn(end.namespace, ['ip', 'link', 'show', 'dev', end.iface])).exitCode === 0) await pair.down(end);
          }
        } finally {
          await bed.teardown();
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
    return pair;
  } catch (err) {
    await bed.teardown();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A wg-quick file (mode 0600) with `key` as its PrivateKey; the key's text is wiped after. */
async function writeConf(path: string, key: Uint8Array, iface: readonly string[], peer: readonly string[]): Promise<void> {
  const text = encodeKeyBase64('test private key', key);
  const body = Buffer.concat([
    Buffer.from('[Interface]\nPrivateKey = '),
    text,
    Buffer.from(`\n${iface.join('\n')}\n\n[Peer]\n${peer.join('\n')}\n`),
  ]);
  try {
    await writeFile(path, body, { mode: 0o600 });
  } finally {
    text.fill(0);
    body.fill(0);
  }
}

/** One word for /bin/sh, quoted so nothing in it is interpreted. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
