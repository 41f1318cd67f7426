import { Registry } from 'prom-client';
import { createOwnerMetrics } from '../../../src/owner/metrics';
import { ManualClock } from '../../helpers/manual-clock';

describe('owner metrics', () => {
  test('registered in the given registry under the project prefix, every label value present from the start', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    createOwnerMetrics(registry, clock);
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.map((m) => m.name).sort()).toEqual([
      'eureka_drainer_health_checks_total',
      'eureka_drainer_heartbeats_total',
      'eureka_drainer_registered_status',
      'eureka_drainer_registrations_total',
      'eureka_drainer_seconds_since_last_heartbeat',
    ]);
    const labels = (name: string, label: string) => metrics.find((m) => m.name === name)?.values.map((v) => v.labels[label]);
    expect(labels('eureka_drainer_registrations_total', 'reason')).toEqual(['initial', 'not_found', 'after_outage', 'status_change', 'resume']);
    expect(labels('eureka_drainer_heartbeats_total', 'result')).toEqual(['success', 'not_found', 'error']);
    expect(labels('eureka_drainer_registered_status', 'status')).toEqual(['STARTING', 'UP', 'DOWN']);
    expect(labels('eureka_drainer_health_checks_total', 'result')).toEqual(['healthy', 'unhealthy', 'error']);
  });

  test('seconds since the last heartbeat grows on the clock and resets on a successful one only', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = createOwnerMetrics(registry, clock);
    const since = async () => (await registry.getMetricsAsJSON()).find((m) => m.name === 'eureka_drainer_seconds_since_last_heartbeat')?.values[0]?.value;
    await clock.advance(4_000);
    expect(await since()).toBe(4);
    metrics.heartbeat('error');
    expect(await since()).toBe(4);
    metrics.heartbeat('success');
    expect(await since()).toBe(0);
  });
});
