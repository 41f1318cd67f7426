/**
 * Issue 20, found on a real cluster: a grace end learnt during the drain
 * (DRAINER_POD_DEADLINE, `kubectl delete --grace-period`) must reach the
 * steps that already started. Whatever step the drain is in when the pod's
 * end moves earlier — locating, taking out on a hanging Eureka, verifying,
 * the client window, the tail, the app-exit call — /prestop answers by the
 * new deadline, not the one fixed when the drain began. And the report says
 * what was waited beside what was planned.
 */
import type { AppExitResult } from '../../../src/app-exit';
import type { DrainReport } from '../../../src/drain/controller';
import { LATE_CALL_MS } from '../../../src/drain/deadlines';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;
/** The default plan (30 s cache, 30 s fetch, 35 s LB, 10 s tail = 105 s) in a 300 s grace period, 30 s app shutdown, 2 s margin. */
const SHUTDOWN_AND_MARGIN = 32 * SECOND;
/**
 * The pod turns out to end this soon after it is learnt: the new drain deadline is 321 ms away, shorter than any
 * pause between two polls, so a wait that re-reads the deadline only when its pause ends overruns it.
 */
const SOON = SHUTDOWN_AND_MARGIN + 321;

type Fixture = ReturnType<typeof controllerFixture>;

/**
 * Starts a drain, lets it run `learnAfterMs`, then tells the controller that
 * the pod ends `podLeftMs` from then (as the pod-deadline watch would), and
 * runs the drain to its answer. Returns the report, when the end was learnt
 * and the drain deadline that end implies.
 */
async function drainLearning(f: Fixture, learnAfterMs: number, podLeftMs: number): Promise<{ report: DrainReport; learntAt: number; answerBy: number }> {
  const drain = f.controller.prestop();
  await f.clock.advance(learnAfterMs);
  const learntAt = f.clock.now();
  f.controller.learnGraceEnd(learntAt + podLeftMs, 'test');
  const report = await f.clock.run(drain);
  return { report, learntAt, answerBy: Math.max(Date.parse(report.startedAt), learntAt + podLeftMs - SHUTDOWN_AND_MARGIN) };
}

const answeredAt = (report: DrainReport): number => Date.parse(report.answeredAt);

describe('a grace end learnt mid-step: /prestop answers by the new deadline', () => {
  // Verification polls are jittered; pinned to their middle so each scenario is the same every run.
  beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0.5));
  afterEach(() => jest.restoreAllMocks());

  test('mid-locate, every server hanging on the app list: locating ends at the new deadline, not at the verification cutoff', async () => {
    const f = controllerFixture();
    for (const s of f.servers) f.eureka.model(s.label).hangOps.add('get_application');
    const { report, answerBy } = await drainLearning(f, 3 * SECOND, SOON);
    expect(report.deadlineAt).toBe(new Date(answerBy).toISOString());
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.outcome).toBe('not_taken_out');
    expect(report.problems.join('\n')).toContain('earlier than DRAINER_GRACE_PERIOD_SECONDS');
  });

  test('mid-locate, the instance not listed yet: the polling ends at the new deadline', async () => {
    const f = controllerFixture();
    const { report, answerBy } = await drainLearning(f, 3 * SECOND, SOON);
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.outcome).toBe('not_taken_out');
  });

  test('mid-take-out, every server hanging on the PUT: the PUTs are aborted at the new deadline', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).hangOps.add('put_status');
    const { report, answerBy } = await drainLearning(f, 2 * SECOND, SOON);
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.outcome).toBe('not_taken_out');
    for (const s of report.servers) expect(s.error).toMatch(/abort|deadline|cutoff/i);
  });

  test('mid-verify, the callers’ view never flipping: verification ends at the new deadline, not at the next poll', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = Number.POSITIVE_INFINITY;
    const { report, answerBy } = await drainLearning(f, 5 * SECOND, SOON);
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.outcome).toBe('cut_short');
  });

  test('mid-verify, every server hanging on the reads: the hanging reads end at the new deadline', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = Number.POSITIVE_INFINITY;
    const drain = f.controller.prestop();
    await f.clock.advance(1 * SECOND); // taken out, the live view proven; now the callers' view hangs
    for (const s of f.servers) f.eureka.model(s.label).hangOps.add('get_application');
    await f.clock.advance(2 * SECOND);
    const learntAt = f.clock.now();
    f.controller.learnGraceEnd(learntAt + SOON, 'test');
    const report = await f.clock.run(drain);
    expect(answeredAt(report)).toBe(learntAt + SOON - SHUTDOWN_AND_MARGIN);
    expect(report.outcome).toBe('cut_short');
  });

  test('mid-client-window: the window is cut at the new deadline, not at its next poll', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const { report, answerBy } = await drainLearning(f, 20 * SECOND, SOON);
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.outcome).toBe('cut_short');
    expect(report.actual.tailEndedBy).toBe('deadline');
  });

  test('mid-tail: the tail is cut at the new deadline', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '60' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    // Verified at once: the window ends 65 s in; the tail runs to 125 s.
    const { report, answerBy } = await drainLearning(f, 70 * SECOND, SOON);
    expect(answeredAt(report)).toBe(answerBy);
    expect(report.actual.tailEndedBy).toBe('deadline');
  });

  test('a deadline that has already passed when it is learnt: /prestop answers at once', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const { report, learntAt } = await drainLearning(f, 20 * SECOND + 321, 10 * SECOND);
    expect(answeredAt(report)).toBe(learntAt);
    expect(report.outcome).toBe('cut_short');
  });

  test('mid-app-exit, a hanging shutdown call: it gets the late-call allowance from when it began, no more', async () => {
    let calledAt: number | undefined;
    const f = controllerFixture(
      { DRAINER_TAIL_SECONDS: '1', EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1', SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '1s' },
      {
        appExit: (signal) => {
          calledAt = f.clock.now();
          // 300 ms into the call, the pod turns out to end in 10 s: the drain deadline has passed, the process must be gone in 9 s.
          void f.clock.sleep(300).then(() => f.controller.learnGraceEnd(f.clock.now() + 10 * SECOND, 'test'));
          return new Promise<AppExitResult>((resolve) => signal?.addEventListener('abort', () => resolve({ strategy: 'http', ok: false, detail: 'aborted' }), { once: true }));
        },
      },
    );
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(calledAt).toBeDefined();
    expect(answeredAt(report)).toBe(calledAt! + LATE_CALL_MS);
    expect(report.appExit?.ok).toBe(false);
    expect(report.outcome).toBe('cut_short');
  });
});

describe('the report says what was waited beside what was planned', () => {
  beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0.5));
  afterEach(() => jest.restoreAllMocks());

  const waited = (report: DrainReport, from: 'waiting_tail' | 'exiting_app'): number => Date.parse(report.phases[from]!) - Date.parse(report.startedAt);

  test('cut in the client window: the planned window is longer than the drain; the waited one is what the drain waited', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const { report, answerBy } = await drainLearning(f, 2 * SECOND, 40 * SECOND);
    const start = Date.parse(report.startedAt);
    expect(report.actual.clientWindowMs!).toBeGreaterThan(report.durationMs); // what the evidence asked for
    expect(report.actual.clientWindowWaitedMs).toBe(answerBy - start);
    expect(report.actual.clientWindowWaitedMs).toBe(waited(report, 'waiting_tail'));
    expect(report.actual.tailMs).toBe(0);
    expect(report.actual.clientWindowWaitedMs! + report.actual.tailMs!).toBeLessThanOrEqual(report.durationMs);
  });

  test('cut in the tail: the whole window was waited, the tail only up to the deadline', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '60' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    // The window ends at 80 s (the early proof read at 15 s + 65 s): learnt at 100 s, in the tail.
    const { report, answerBy } = await drainLearning(f, 100 * SECOND, 40 * SECOND);
    expect(report.actual.clientWindowWaitedMs).toBe(report.actual.clientWindowMs);
    expect(report.actual.clientWindowWaitedMs).toBe(waited(report, 'waiting_tail'));
    expect(report.actual.tailMs).toBe(waited(report, 'exiting_app') - waited(report, 'waiting_tail'));
    expect(report.actual.tailMs).toBe(answerBy - Date.parse(report.startedAt) - report.actual.clientWindowMs!);
  });

  test('not cut: waited equals planned', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(report.actual.clientWindowWaitedMs).toBe(report.actual.clientWindowMs);
    expect(report.actual.tailMs).toBe(10 * SECOND);
    expect(report.actual.clientWindowWaitedMs! + report.actual.tailMs!).toBe(report.durationMs);
  });
});
