/**
 * A herd of watchers after a relay restart: N clients, each on its own loopback source
 * address (the relay authenticates a parent by the address its request comes from), each
 * driven by the watcher's own policy (src/client/watch-policy.ts: the same transitions,
 * the same backoff on RESOURCE_EXHAUSTED / UNAVAILABLE, the same per-attempt timeouts)
 * from "protected" through "the relay no longer answers my ephemeral key" (each client
 * notices at a random moment of the first `detectSpreadMs`), back to its parent key and
 * on to a fresh registration. Used by the bench's herd section (run as a child process,
 * so its CPU is counted apart from the relay's) and by the herd test (in-process).
 *
 * Kept cheap so the generator does not take the relay's cores: each attempt is one
 * RegisterPeerV1 call written directly on node's HTTP/2 (a fresh connection per attempt,
 * as the watcher makes one), not through grpc-js, whose client costs milliseconds of CPU
 * per call; failures are classified by src/rpc's own errorForStatus, so the policy sees
 * the codes the watcher would. The clients offer KEM public keys made once and shared by
 * all (the relay encapsulates afresh for every request, so its work per request is that
 * of real clients); the WireGuard ephemeral key is 32 fresh random bytes per attempt. The
 * generator skips what costs the relay nothing: key generation, decapsulation (the test
 * decapsulates the answers it keeps), the local switch and its verification.
 */
import { randomBytes } from 'node:crypto';
import { connect as connectHttp2, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ERROR_TABLE } from '../../src/error-table.js';
import { DEFAULT_POLICY, advance, initialState, nextAction, type WatchPolicyConfig, type WatchState } from '../../src/client/watch-policy.js';
import type { KemName } from '../../src/kem/types.js';
import { attemptTimeoutMs } from '../../src/protocol/plan.js';
import { REGISTER_PEER_PATH, registerPeerMethod } from '../../src/rpc/proto.js';
import { errorForStatus } from '../../src/rpc/status.js';

/** One watcher of the herd: its parent key (32 bytes) and the address its tunnel gives it. */
export interface HerdClient {
  readonly parent: Uint8Array;
  readonly source: string;
}

/** What to run. */
export interface HerdOptions {
  /** The relay's `127.x.y.z:port`. */
  readonly target: string;
  readonly clients: readonly HerdClient[];
  /** The KEM public keys every request offers, in order. */
  readonly kems: readonly { readonly name: KemName; readonly publicKey: Uint8Array }[];
  /** Each client notices the loss at a uniformly random moment of [0, detectSpreadMs) after `t0`. */
  readonly detectSpreadMs: number;
  /** Give up measuring this long after `t0`: a client not healed by then counts as unhealed. */
  readonly horizonMs: number;
  /** `Date.now()` of the restart; default: when the run starts. */
  readonly t0?: number;
  readonly policy?: WatchPolicyConfig;
  /** Keep each healed client's ephemeral key and ciphertexts (the test checks the PSKs). */
  readonly keepAnswers?: boolean;
}

/** A healed client's registration as the relay answered it. */
export interface HerdAnswer {
  readonly ephemeral: Uint8Array;
  readonly ciphertexts: readonly Uint8Array[];
}

/** What happened to the herd. */
export interface HerdOutcome {
  readonly clients: number;
  /** Per client, ms from `t0` to the answer that gave it a fresh PSK; null when it never got one. */
  readonly healedAtMs: readonly (number | null)[];
  /** Clients whose watcher would have stopped (a failure it does not retry). */
  readonly gaveUp: number;
  /** RegisterPeerV1 attempts made, and the failed ones by the client's error code. */
  readonly calls: number;
  readonly failures: Readonly<Record<string, number>>;
  /** The most attempts one client needed. */
  readonly maxAttempts: number;
  /** The generator's own CPU (whole process) over the run, ms, and its wall time. */
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly answers?: readonly (HerdAnswer | null)[];
}

/** The outcome of one attempt: the ciphertexts, or the client's error code. */
type Attempt = { readonly ok: true; readonly ciphertexts: readonly Uint8Array[] } | { readonly ok: false; readonly code: string };

/** Largest answer accepted (a RegisterPeerV1 response with every KEM is far below). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Run the herd to the end (all healed or given up, or the horizon); see the module comment. */
export async function runHerd(options: HerdOptions): Promise<HerdOutcome> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const t0 = options.t0 ?? Date.now();
  const end = t0 + options.horizonMs;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const method = registerPeerMethod();
  const healedAtMs: (number | null)[] = options.clients.map(() => null);
  const answers: (HerdAnswer | null)[] = options.clients.map(() => null);
  const failures: Record<string, number> = {};
  let calls = 0;
  let gaveUp = 0;
  let maxAttempts = 0;

  const one = async (client: HerdClient, i: number): Promise<void> => {
    await sleepUntil(t0 + Math.random() * options.detectSpreadMs);
    // Protected on an ephemeral key until a probe goes unanswered: the relay forgot it.
    let state: WatchState = advance(initialState(Date.now(), false), { kind: 'negotiated', now: Date.now() }, policy, Math.random);
    state = advance(state, { kind: 'probed', now: Date.now(), alive: false }, policy, Math.random);
    let attempts = 0;
    while (Date.now() < end) {
      const action = nextAction(state, Date.now());
      if (action.kind === 'wait') {
        await sleepUntil(Math.min(action.untilMs, end));
        state = advance(state, { kind: 'tick', now: Date.now(), traffic: null }, policy, Math.random);
      } else if (action.kind === 'fall-back') {
        state = advance(state, { kind: 'fell-back', now: Date.now(), working: true }, policy, Math.random);
      } else if (action.kind === 'probe') {
        state = advance(state, { kind: 'probed', now: Date.now(), alive: true }, policy, Math.random);
      } else {
        attempts++;
        calls++;
        const ephemeral = randomBytes(32);
        const body = method.requestSerialize({
          wg_parent_pubkey: client.parent,
          wg_ephemeral_peer_pubkey: ephemeral,
          post_quantum: { kem_pubkeys: options.kems.map((k) => ({ algorithm_name: k.name, key_data: k.publicKey })) },
        });
        const result = await registerFrom(options.target, client.source, body, attemptTimeoutMs(Math.min(action.attempt, 3)));
        if (result.ok && result.ciphertexts.length === options.kems.length) {
          healedAtMs[i] = Date.now() - t0;
          if (options.keepAnswers === true) answers[i] = { ephemeral, ciphertexts: result.ciphertexts };
          break;
        }
        const code = result.ok ? 'BAD_ANSWER' : result.code;
        failures[code] = (failures[code] ?? 0) + 1;
        if (code in ERROR_TABLE && !ERROR_TABLE[code as keyof typeof ERROR_TABLE].retry) {
          gaveUp++;
          break;
        }
        state = advance(state, { kind: 'negotiate-failed', now: Date.now(), code, message: code, working: true }, policy, Math.random);
      }
    }
    maxAttempts = Math.max(maxAttempts, attempts);
  };
  await Promise.all(options.clients.map(one));
  const cpu = process.cpuUsage(cpu0);
  return {
    clients: options.clients.length,
    healedAtMs,
    gaveUp,
    calls,
    failures,
    maxAttempts,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - wall0,
    ...(options.keepAnswers === true ? { answers } : {}),
  };

  /** One RegisterPeerV1 call on a fresh HTTP/2 connection from `source`. */
  function registerFrom(target: string, source: string, request: Buffer, timeoutMs: number): Promise<Attempt> {
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon);
    const port = Number(target.slice(colon + 1));
    return new Promise<Attempt>((resolve) => {
      let connected = false;
      let settled = false;
      let session: ClientHttp2Session | undefined;
      const finish = (attempt: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session?.destroy();
        resolve(attempt);
      };
      const failed = (code: number, details: string): void => {
        finish({ ok: false, code: errorForStatus(target, { code, details, connected, budgetMs: timeoutMs }).code });
      };
      const timer = setTimeout(() => failed(4, 'Deadline exceeded after the client waited'), timeoutMs);
      session = connectHttp2(`http://${target}`, { createConnection: () => connectTcp({ host, port, localAddress: source }) });
      session.once('connect', () => (connected = true));
      session.on('error', (err: NodeJS.ErrnoException) => failed(14, `${err.code ?? 'error'}: ${err.message}`));
      const stream = session.request({
        [h2.HTTP2_HEADER_METHOD]: 'POST',
        [h2.HTTP2_HEADER_PATH]: REGISTER_PEER_PATH,
        [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${timeoutMs}m`,
      });
      stream.on('error', () => undefined);
      const chunks: Buffer[] = [];
      let size = 0;
      let status: number | null = null;
      let details = '';
      const take = (headers: Record<string, unknown>): void => {
        if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
        if (typeof headers['grpc-message'] === 'string') details = decodeURIComponent(headers['grpc-message']);
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) failed(8, 'Received message larger than max');
        else chunks.push(chunk);
      });
      stream.on('close', () => {
        if (status === null) return failed(14, connected ? 'Connection dropped' : 'No connection established');
        if (status !== 0) return failed(status, details);
        const whole = Buffer.concat(chunks);
        if (whole.length < 5 || whole.readUInt32BE(1) !== whole.length - 5) return failed(13, 'Failed to parse the answer');
        try {
          const answer = method.responseDeserialize(whole.subarray(5)) as { post_quantum?: { ciphertexts?: Uint8Array[] } };
          finish({ ok: true, ciphertexts: answer.post_quantum?.ciphertexts ?? [] });
        } catch {
          failed(13, 'Failed to parse the answer');
        }
      });
      const head = Buffer.alloc(5);
      head.writeUInt32BE(request.length, 1);
      stream.end(Buffer.concat([head, request]));
    });
  }
}

function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** When a share `p` (0..1) of the clients held a fresh PSK (ms from the restart), or null if they never did. */
export function timeToShare(healedAtMs: readonly (number | null)[], p: number): number | null {
  const healed = healedAtMs.filter((t): t is number => t !== null).sort((a, b) => a - b);
  const needed = Math.ceil(p * healedAtMs.length);
  if (needed === 0) return 0;
  return healed.length >= needed ? healed[needed - 1]! : null;
}
