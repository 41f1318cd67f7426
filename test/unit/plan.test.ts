import { computePlan, formatPlanTable } from '../../src/plan';
import { testConfig } from '../helpers/config';

describe('computePlan with Spring defaults', () => {
  test.each([
    // The server cache counts 30.5 s: the interval and the tick's slack (drain/read-schedule.ts cacheTermMs).
    ['loadbalancer', 95.5],
    ['ribbon', 90.5],
    ['none', 60.5],
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
    ['138', '30', '2', true, 106_000],
    ['137', '30', '2', false, 105_000],
    ['30', '30', '2', false, 0],
  ])('grace %s s, shutdown %s s, margin %s s: fits=%s, budget %d ms', (grace, shutdown, margin, fits, budget) => {
    const plan = computePlan(
      testConfig({ DRAINER_GRACE_PERIOD_SECONDS: grace, DRAINER_APP_SHUTDOWN_SECONDS: shutdown, DRAINER_MARGIN_SECONDS: margin }).timings,
    );
    expect(plan.requiredGraceMs).toBe(137_500);
    expect(plan.fits).toBe(fits);
    expect(plan.drainBudgetMs).toBe(budget);
  });

  test('the table names every term and says what to set when it does not fit', () => {
    const table = formatPlanTable(computePlan(testConfig().timings));
    for (const term of ['server_cache', 'registry_fetch', 'load_balancer', 'tail', 'app_shutdown', 'margin']) expect(table).toContain(term);
    expect(table).toContain('does not fit');
    expect(table).toContain('at least 138');
  });

  test('the server cache term is the interval and its slack, none without the read-only cache', () => {
    const term = (ms: string): number | undefined =>
      computePlan(testConfig({ EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: ms }).timings).terms.find((t) => t.name === 'server_cache')?.ms;
    expect(term('30000')).toBe(30_500);
    expect(term('1000')).toBe(1_250);
    expect(term('0')).toBe(0);
  });

  test('owner mode counts the replication settle before the cancel', () => {
    const timings = testConfig().timings;
    const companion = computePlan(timings);
    const owner = computePlan(timings, { replicationSettleMs: 1_000 });
    expect(owner.drainMs - companion.drainMs).toBe(1_000);
    expect(owner.terms[0]).toMatchObject({ name: 'replication_settle', ms: 1_000 });
  });
});
