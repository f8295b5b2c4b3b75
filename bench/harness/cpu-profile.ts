/**
 * A CPU profile of this thread (the relay's event loop, when the relay runs here) taken
 * with the inspector's sampling profiler — what `node --cpu-prof` writes, limited to the
 * window asked for — and a summary of where its self time goes: the top functions and the
 * top modules (our files, a package's files, Node's internals by area, and V8's own
 * buckets such as the garbage collector). The HQC-256 workers are other threads and are
 * not in it; their time is the KEM work the throughput section accounts for separately.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The parts of a .cpuprofile this summary reads. */
export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Self time of one function or module, ms and share of the busy (non-idle) samples. */
export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** Where the profiled thread's busy time went. */
export interface ProfileSummary {
  /** Sampled time the thread was not idle, ms. */
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly modules: readonly SelfTime[];
  /** Where the whole profile was written (open it in Chrome's DevTools), or null. */
  readonly file: string | null;
}

/** Start sampling this thread; `stop` ends it and returns the profile. */
export async function startCpuProfile(intervalUs = 500): Promise<{ stop(): Promise<CpuProfile> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return {
    async stop(): Promise<CpuProfile> {
      try {
        const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
        return profile;
      } finally {
        session.disconnect();
      }
    },
  };
}

/** Write the profile to a temporary file and summarise it; the file is kept for a closer look. */
export async function keepAndSummarise(profile: CpuProfile, label: string, top = 12): Promise<ProfileSummary> {
  let file: string | null = join(tmpdir(), `pqpsk-bench-${label}-${process.pid}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile)).catch(() => (file = null));
  return { ...summariseProfile(profile, top), file };
}

/** Self time by function and by module, the `top` largest of each; idle time left out. */
export function summariseProfile(profile: CpuProfile, top = 12): Omit<ProfileSummary, 'file'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time from sample i-1 to sample i: the interval after a sample is
  // charged to it, as DevTools does (the first delta, from the profiler's start, to nothing).
  for (let i = 0; i + 1 < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, deltas[i + 1] ?? 0));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id);
    if (frame === undefined || frame.functionName === '(idle)') continue;
    busyUs += us;
    const module = moduleOf(frame.url, frame.functionName);
    const fn = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${frame.url === '' ? '' : ` ${module}:${frame.lineNumber + 1}`}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }));
  return { busyMs: busyUs / 1000, functions: rank(functions), modules: rank(modules) };
}

/**
 * A module's short name: `node:http2` for Node's internals by area, `@grpc/grpc-js/server.js`
 * for a package's file, `src/server/relay.js` for ours, V8's own buckets as V8 names them.
 */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${path.split('/')[0]!.replace(/\.js$/, '')}`;
  }
  const inPackage = url.lastIndexOf('/node_modules/');
  if (inPackage >= 0) {
    const parts = url.slice(inPackage + '/node_modules/'.length).split('/');
    const name = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return `${name}/${parts[parts.length - 1]}`;
  }
  const ours = url.lastIndexOf('/dist/');
  return ours >= 0 ? url.slice(ours + '/dist/'.length) : url.slice(url.lastIndexOf('/') + 1);
}
