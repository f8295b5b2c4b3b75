/**
 * Admission of one registration before any costly work: the request is validated and its
 * parent authenticated against the relay's cached view of the interface, so an impostor
 * costs a map lookup (no `wg` process, no parse, no HQC). The batch checks again under
 * the lock, on the book and the interface as they are then.
 */
import { PqpskError, isPqpskError } from '../errors.js';
import { authenticate, type AuthPolicy } from '../protocol/authenticate.js';
import { keyTag } from '../protocol/keys.js';
import type { ReceivedRegisterRequest } from '../protocol/messages.js';
import type { PeerIndex } from '../protocol/peer-index.js';
import type { RelayBook } from '../protocol/relay-book.js';
import { validateRegisterRequest, type KemPublicKey } from '../protocol/request.js';
import { publicKeyToText } from '../wg/keys.js';
import type { Clock } from './clock.js';
import type { InterfaceView } from './interface-view.js';
import type { SerialQueue } from './serial.js';

/** A refused request may trigger a fresh read of the interface at most this often (all sources together). */
export const REREAD_MS = 1000;

/** What admission needs of the relay: its book, its cached view, and the lock a fresh read runs in. */
export interface AdmissionHost {
  readonly view: InterfaceView;
  readonly lock: SerialQueue;
  readonly clock: Clock;
  readonly policy: AuthPolicy;
  book(): RelayBook;
}

/** A request that passed admission: keys as text, the parent it authenticated as. */
export interface Admitted {
  readonly claimed: string;
  readonly parent: string;
  readonly ephemeral: string;
  readonly source: string;
  readonly kems: readonly KemPublicKey[];
}

/** Validates and authenticates requests for one relay; shares one re-read among all refused ones. */
export class Admission {
  readonly #host: AdmissionHost;
  #lastReread = Number.NEGATIVE_INFINITY;
  #reread: Promise<unknown> | undefined;

  constructor(host: AdmissionHost) {
    this.#host = host;
  }

  /**
   * Validate `request` and authenticate its parent for `source`, noting keys and
   * algorithms on the registration's log `line` as they become known.
   */
  async admit(request: ReceivedRegisterRequest, source: string, requestBytes: number | undefined, line: Record<string, unknown>): Promise<Admitted> {
    const valid = validateRegisterRequest(request, requestBytes);
    const claimed = publicKeyToText(valid.parentKey);
    const ephemeral = publicKeyToText(valid.ephemeralKey);
    line['parent'] = keyTag(claimed);
    line['ephemeral'] = keyTag(ephemeral);
    line['algorithms'] = valid.kems.map((k) => k.name);
    if (ephemeral === this.#host.view.ownKey) throw ownKey();
    const parent = await this.#authenticateCached(claimed, source);
    if (parent !== claimed) line['resolved_parent'] = keyTag(parent);
    return { claimed, parent, ephemeral, source, kems: valid.kems };
  }

  /**
   * The batch's check of an admitted request on `book` and `index` as they are under the
   * lock: the book or the interface may have changed while it encapsulated.
   */
  recheck(book: RelayBook, index: PeerIndex, admitted: Omit<Admitted, 'kems'>): void {
    if (admitted.ephemeral === this.#host.view.ownKey) throw ownKey();
    if (authenticate(book, index, admitted.claimed, admitted.source, this.#host.policy) !== admitted.parent) throw new PqpskError('PERMISSION_DENIED', 'parent changed');
  }

  /**
   * Authenticate on the cached view; on a refusal, read the interface again at most once
   * per REREAD_MS for all requests together (a peer the operator just added is
   * recognised within a second, and a flood of refusals costs at most one read a second).
   */
  async #authenticateCached(claimed: string, source: string): Promise<string> {
    const host = this.#host;
    try {
      return authenticate(host.book(), host.view.index, claimed, source, host.policy);
    } catch (err) {
      if (!isPqpskError(err) || err.code !== 'PERMISSION_DENIED' || host.clock.now() - this.#lastReread < REREAD_MS) throw err;
      this.#lastReread = host.clock.now();
      this.#reread ??= host.lock.run(() => host.view.refresh()).finally(() => (this.#reread = undefined));
      await this.#reread;
      return authenticate(host.book(), host.view.index, claimed, source, host.policy);
    }
  }
}

function ownKey(): PqpskError {
  return new PqpskError('INVALID_INPUT', "wg_ephemeral_peer_pubkey: is this relay's own key");
}
