import { Registry } from 'prom-client';
import { registerProcessMetrics } from '../../src/process-metrics';

const value = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);

describe('process metrics (issue 10: cheap per scrape)', () => {
  test('the sidecar set, under the usual names, with values read at scrape time', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const text = await registry.metrics();
    for (const name of ['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'eureka_drainer_eventloop_lag_p50_seconds', 'eureka_drainer_eventloop_lag_p99_seconds', 'eureka_drainer_eventloop_lag_max_seconds']) {
      expect(value(text, name)).toBeGreaterThanOrEqual(0);
    }
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024);
    expect(value(text, 'process_cpu_seconds_total')).toBeCloseTo(value(text, 'process_cpu_user_seconds_total') + value(text, 'process_cpu_system_seconds_total'), 6);
    expect(value(text, 'process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(text).toContain(`nodejs_version_info{version="${process.version}"`);
    if (process.platform === 'linux') expect(value(text, 'process_open_fds')).toBeGreaterThan(0);
    // Left out on purpose: the per-space heap, handles/requests/resources, the GC histogram, the fd limit; and
    // prom-client's nodejs_eventloop_lag_* names, which mean the delay since the start, the interval included.
    expect(text).not.toMatch(/nodejs_gc_duration_seconds|nodejs_heap_space_size|nodejs_active_handles|process_max_fds|nodejs_eventloop_lag/);
  });

  test('the CPU counters grow between scrapes and every scrape answers', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const first = value(await registry.metrics(), 'process_cpu_seconds_total');
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const second = value(await registry.metrics(), 'process_cpu_seconds_total');
    expect(second).toBeGreaterThan(first);
  });
});
