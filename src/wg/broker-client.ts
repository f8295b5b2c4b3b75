/**
 * The relay's end of the broker channel (broker.ts): sends typed requests over the
 * socketpair its privileged parent gave it and matches each reply to its request. The
 * relay, running unprivileged, reaches WireGuard and nftables only through this.
 */
import type { Duplex } from 'node:stream';
import { PqpskError, type PqpskErrorCode } from '../errors.js';
import { FrameReader, encodeFrame, setRequest, type BrokerReplyHeader, type ShowField } from './broker-protocol.js';
import type { WgPeerChange } from './types.js';

/** What RealWgControl asks of a broker instead of running `wg` itself. */
export interface WgBrokerPort {
  /** `wg show <iface> <field>`'s output (secret-free); the caller may wipe it. */
  show(iface: string, field: ShowField): Promise<Uint8Array>;
  /** `wg set` of removals, PSKs and allowed-ips; PSKs are wiped here once sent. */
  set(iface: string, peers: readonly WgPeerChange[]): Promise<void>;
}

/** A broker on the other end of `channel`. When the channel closes, every request fails and `closed` resolves. */
export class BrokerClient implements WgBrokerPort {
  readonly #channel: Duplex;
  readonly #pending = new Map<number, { resolve: (bytes: Uint8Array | null) => void; reject: (err: PqpskError) => void }>();
  readonly #reader = new FrameReader();
  #nextId = 1;
  #open = true;
  /** Resolves when the broker is gone: the relay cannot change its interface any more. */
  readonly closed: Promise<void>;

  constructor(channel: Duplex, private readonly iface: string) {
    this.#channel = channel;
    channel.on('data', (chunk: Buffer) => {
      for (const frame of this.#reader.push(chunk)) {
        if (typeof frame === 'string') {
          // A reply that cannot be read names no request: fail every one waiting, rather
          // than leave one waiting for ever (inside the relay's interface lock).
          this.#failAll(`the privileged broker sent a reply that cannot be read (${frame})`);
          continue;
        }
        this.#settle(frame.header as BrokerReplyHeader, frame.bytes);
      }
    });
    this.closed = new Promise((resolve) => {
      const end = (): void => {
        if (!this.#open) return;
        this.#open = false;
        this.#failAll('the privileged broker of this relay is gone');
        resolve();
      };
      channel.on('close', end);
      channel.on('end', end);
      channel.on('error', end);
    });
  }

  async show(iface: string, field: ShowField): Promise<Uint8Array> {
    return (await this.#ask({ op: 'show', iface, field })) ?? new Uint8Array(0);
  }

  async set(iface: string, peers: readonly WgPeerChange[]): Promise<void> {
    const { header, bytes } = setRequest(iface, peers);
    await this.#ask(header, bytes);
  }

  /** `nft list ruleset` as the broker read it, or null when it could not. */
  async nftRuleset(): Promise<string | null> {
    const bytes = await this.#ask({ op: 'nft', iface: this.iface });
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  /** Stop using the channel (the relay is exiting). */
  close(): void {
    this.#channel.end();
  }

  #ask(header: object, bytes?: Uint8Array): Promise<Uint8Array | null> {
    const id = this.#nextId++;
    if (!this.#open) {
      bytes?.fill(0);
      return Promise.reject(new PqpskError('WG_FAILURE', 'the privileged broker of this relay is gone'));
    }
    const frame = encodeFrame({ ...header, id }, bytes);
    bytes?.fill(0);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // The frame holds PSKs: wiped once the socket has taken it.
      this.#channel.write(frame, () => frame.fill(0));
    });
  }

  #failAll(reason: string): void {
    for (const p of this.#pending.values()) p.reject(new PqpskError('WG_FAILURE', reason));
    this.#pending.clear();
  }

  #settle(header: BrokerReplyHeader, bytes: Uint8Array): void {
    if (typeof header !== 'object' || header === null || typeof header.id !== 'number') return;
    const pending = this.#pending.get(header.id);
    if (pending === undefined) return;
    this.#pending.delete(header.id);
    if (header.ok) pending.resolve(header.found === false ? null : bytes);
    else pending.reject(new PqpskError(header.code as PqpskErrorCode, String(header.message).slice(0, 500)));
  }
}
