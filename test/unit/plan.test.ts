import { computePlan, formatPlanTable } from '../../src/plan';
import { testConfig } from '../helpers/config';

describe('computePlan with Spring defaults', () => {
  test.each([
    ['loadbalancer', 95],
    ['ribbon', 90],
    ['none', 60],
  ] as const)('%s callers: %d s to stop selecting, plus the tail', (kind, selectSeconds) => {
    const plan = computePlan(testConfig({ DRAINER_LOAD_BALANCER: kind, DRAINER_TAIL_SECONDS: '10' }).timings);
    expect(plan.selectMs).toBe(selectSeconds * 1000);
    expect(plan.drainMs).toBe((selectSeconds + 10) * 1000);
  });

  test('both load balancers: the larger term counts', () => {
    const plan = computePlan(testConfig({ DRAINER_LOAD_BALANCER: 'both', RIBBON_SERVERLISTREFRESHINTERVAL: '40000' }).timings);
    expect(plan.terms.find((t) => t.name === 'load_balancer')?.ms).toBe(40_000);
  });

  test.each([
    // grace, app shutdown, margin → fits, budget
    ['150', '30', '2', true, 118_000],
    ['137', '30', '2', true, 105_000],
    ['136', '30', '2', false, 104_000],
    ['30', '30', '2', false, 0],
  ])('grace %s s, shutdown %s s, margin %s s: fits=%s, budget %d ms', (grace, shutdown, margin, fits, budget) => {
    const plan = computePlan(
      testConfig({ DRAINER_GRACE_PERIOD_SECONDS: grace, DRAINER_APP_SHUTDOWN_SECONDS: shutdown, DRAINER_MARGIN_SECONDS: margin }).timings,
    );
    expect(plan.requiredGraceMs).toBe(137_000);
    expect(plan.fits).toBe(fits);
    expect(plan.drainBudgetMs).toBe(budget);
  });

  test('the table names every term and says what to set when it does not fit', () => {
    const table = formatPlanTable(computePlan(testConfig().timings));
    for (const term of ['server_cache', 'registry_fetch', 'load_balancer', 'tail', 'app_shutdown', 'margin']) expect(table).toContain(term);
    expect(table).toContain('does not fit');
    expect(table).toContain('at least 137');
  });

  test('owner mode counts the replication settle before the cancel', () => {
    const timings = testConfig().timings;
    const companion = computePlan(timings);
    const owner = computePlan(timings, { replicationSettleMs: 1_000 });
    expect(owner.drainMs - companion.drainMs).toBe(1_000);
    expect(owner.terms[0]).toMatchObject({ name: 'replication_settle', ms: 1_000 });
  });
});
