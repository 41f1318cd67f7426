import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The process metrics a sidecar needs, under their usual prom-client names, each read at scrape time from a
 * call that costs microseconds: CPU, resident memory, V8 heap, open file descriptors, start time, the Node
 * version; and the event-loop delay under our own names (`eureka_drainer_eventloop_lag_*`: p50, p99, max since
 * the last scrape, beyond the sampling interval), because prom-client's `nodejs_eventloop_lag_*` (which the
 * webhook publishes) mean something else: since the process started, the sampling interval included.
 *
 * Instead of prom-client's collectDefaultMetrics, which cost 0.55 ms of CPU per scrape here, 0.42 ms of it the
 * event-loop histogram's stddev getter, and registers collectors a sidecar does not need: per-space heap sizes,
 * active handles/requests/resources, a GC duration histogram (a PerformanceObserver called on every
 * collection), the file-descriptor limit (bench/footprint.js, bench/README "Footprint benchmark").
 */
export function registerProcessMetrics(registry: Registry, options: { eventLoopResolutionMs?: number } = {}): void {
  const registers = [registry];
  // Counters whose value is read, not counted: set them to the reading on every scrape.
  const reading = (name: string, help: string, read: () => number): void =>
    void new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  let cpu = process.cpuUsage();
  reading('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => (cpu = process.cpuUsage()).user / 1e6);
  reading('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => cpu.system / 1e6);
  reading('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => (cpu.user + cpu.system) / 1e6);

  const gauge = (name: string, help: string, read: () => number): void =>
    void new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  const startSeconds = Math.round((Date.now() - process.uptime() * 1000) / 1000);
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startSeconds);
  if (process.platform === 'linux') {
    // One entry is the directory's own descriptor, open while it is read.
    gauge('process_open_fds', 'Number of open file descriptors.', () => readdirSync('/proc/self/fd').length - 1);
  }
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => getHeapStatistics().total_heap_size);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => getHeapStatistics().used_heap_size);

  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({ name: 'nodejs_version_info', help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registers }).set(
    { version: process.version, major: major ?? '', minor: minor ?? '', patch: patch ?? '' },
    1,
  );

  // The loop's delay since the last scrape: one snapshot per scrape (its collectors run in one go), then reset.
  // The histogram records the time between two of its timer's runs, the resolution included: report the excess.
  const resolutionMs = options.eventLoopResolutionMs ?? 100;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  const excess = (ns: number): number => Math.max(0, ns / 1e9 - resolutionMs / 1000);
  histogram.enable();
  let snapshot: { p50: number; p99: number; max: number } | undefined;
  const lag = (key: 'p50' | 'p99' | 'max'): number => {
    if (snapshot === undefined) {
      // An empty histogram (no sample yet) reads 0, not its sentinel values.
      const empty = histogram.count === 0;
      snapshot = empty ? { p50: 0, p99: 0, max: 0 } : { p50: excess(histogram.percentile(50)), p99: excess(histogram.percentile(99)), max: excess(histogram.max) };
      histogram.reset();
      setImmediate(() => (snapshot = undefined));
    }
    return snapshot[key];
  };
  const help = (what: string): string => `${what} event loop delay since the last scrape, beyond the ${resolutionMs} ms sampling interval.`;
  gauge('eureka_drainer_eventloop_lag_p50_seconds', help('The median'), () => lag('p50'));
  gauge('eureka_drainer_eventloop_lag_p99_seconds', help('The 99th percentile'), () => lag('p99'));
  gauge('eureka_drainer_eventloop_lag_max_seconds', help('The largest'), () => lag('max'));
}
