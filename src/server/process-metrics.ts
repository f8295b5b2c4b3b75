/**
 * The process figures an operator watches during an attack, under the names Prometheus'
 * Node.js client (prom-client) gives them, so existing dashboards and alerts apply:
 * CPU, resident memory, open file descriptors, heap, event-loop lag; plus the gRPC
 * listener's open connections, calls in flight, connections refused by cap, and
 * connections closed for stalling a request (with the partly received bytes held now).
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** What the gRPC listener reports (src/rpc/server.ts RpcStats). */
export interface ListenerStats {
  readonly connections: number;
  readonly calls: number;
  readonly refusedConnections: Readonly<Record<string, number>>;
  readonly stalledConnections: Readonly<Record<string, number>>;
  readonly partialRequestBytes: number;
}

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** Samples the event loop from creation; `render` reads everything at scrape time. */
export class ProcessMetrics {
  readonly #lag: IntervalHistogram;

  constructor(readonly listener: () => ListenerStats | null = () => null) {
    this.#lag = monitorEventLoopDelay({ resolution: 10 });
    this.#lag.enable();
  }

  stop(): void {
    this.#lag.disable();
  }

  render(): string {
    const out: string[] = [];
    const gauge = (name: string, help: string, value: number, type = 'gauge'): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    const cpu = process.cpuUsage();
    gauge('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', cpu.user / 1e6, 'counter');
    gauge('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', cpu.system / 1e6, 'counter');
    gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6, 'counter');
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', START_SECONDS);
    const memory = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', memory.rss);
    gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', memory.heapTotal);
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', memory.heapUsed);
    gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', memory.external);
    const fds = openFds();
    if (fds !== null) gauge('process_open_fds', 'Number of open file descriptors.', fds);
    const seconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
    gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', seconds(this.#lag.mean));
    gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', seconds(this.#lag.percentile(50)));
    gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', seconds(this.#lag.percentile(90)));
    gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', seconds(this.#lag.percentile(99)));
    gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', seconds(this.#lag.max));
    const listener = this.listener();
    if (listener !== null) {
      gauge('pqpsk_rpc_connections', 'TCP connections open on the gRPC listener.', listener.connections);
      gauge('pqpsk_rpc_calls_in_flight', 'RegisterPeerV1 calls received and not yet answered.', listener.calls);
      out.push('# HELP pqpsk_rpc_refused_connections_total Connections closed on accept, by the cap they exceeded.');
      out.push('# TYPE pqpsk_rpc_refused_connections_total counter');
      for (const [cap, n] of Object.entries(listener.refusedConnections).sort()) out.push(`pqpsk_rpc_refused_connections_total{cap="${cap}"} ${n}`);
      out.push('# HELP pqpsk_rpc_stalled_connections_total Connections closed because a request stopped arriving, by why: deadline (not whole in time), source_budget or total_budget (too many partly received bytes), source_slots or total_slots (room for a new connection).');
      out.push('# TYPE pqpsk_rpc_stalled_connections_total counter');
      for (const [reason, n] of Object.entries(listener.stalledConnections).sort()) out.push(`pqpsk_rpc_stalled_connections_total{reason="${reason}"} ${n}`);
      gauge('pqpsk_rpc_partial_request_bytes', 'Bytes of requests received in part and held now.', listener.partialRequestBytes);
    }
    return `${out.join('\n')}\n`;
  }
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}
