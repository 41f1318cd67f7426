import { Registry } from 'prom-client';
import { METRIC_PREFIX, createMetrics } from '../../src/metrics';
import { computePlan } from '../../src/plan';
import { testConfig } from '../helpers/config';

describe('metrics follow the Prometheus naming rules', () => {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  metrics.setPlan(computePlan(testConfig().timings));
  metrics.setPhase('verifying');
  metrics.eurekaRequest('put_status', 'success', 0.01);
  metrics.drainFinished('verified', 95);

  const names = registry.getMetricsAsArray().map((m) => m.name);

  test.each(names)('%s', async (name) => {
    const { type, help } = (await registry.getMetricsAsJSON()).find((m) => m.name === name)!;
    expect(name.startsWith(METRIC_PREFIX)).toBe(true);
    expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(help.length).toBeGreaterThan(10);
    const kind = String(type);
    if (kind === 'counter') expect(name).toMatch(/_total$/);
    else expect(name).not.toMatch(/_total$/);
    // Base units only: seconds, never milliseconds or minutes.
    expect(name).not.toMatch(/_(ms|milliseconds|minutes|millis)(_|$)/);
    if (/duration|delay|remaining/.test(name) || (/plan_/.test(name) && !/fits/.test(name))) expect(name).toMatch(/_seconds$/);
  });

  test('the phase gauge has exactly one active phase', async () => {
    const values = (await registry.getSingleMetric(`${METRIC_PREFIX}drain_phase`)!.get()).values;
    expect(values.filter((v) => v.value === 1).map((v) => v.labels.phase)).toEqual(['verifying']);
  });
});
