import { deadlineRules, deadlinesOf, earlierEnd, EXIT_LEAD_MS, LATE_CALL_MS, TAKE_OUT_FLOOR_MS, lateCallBy, type DeadlineInputs, type Deadlines } from '../../../src/drain/deadlines';
import { LiveDeadlines } from '../../../src/drain/live-deadlines';
import { sleepBefore, untilSignal } from '../../../src/drain/until';
import { computePlan } from '../../../src/plan';
import { testConfig } from '../../helpers/config';
import { ManualClock } from '../../helpers/manual-clock';

const SECOND = 1000;
const T = 1_000_000; // the start of the grace period
const s = (seconds: number): number => T + seconds * SECOND;

/** 60 s grace, 30 s app shutdown, 2 s margin: drain budget 28 s. */
const rules = deadlineRules(computePlan(testConfig({ DRAINER_GRACE_PERIOD_SECONDS: '60' }).timings), testConfig().timings);

describe('deadlines.ts: every deadline from the plan, the config and the pod’s end', () => {
  test('the rules come from the plan and the config', () => {
    expect(rules).toEqual({ gracePeriodMs: 60 * SECOND, drainBudgetMs: 28 * SECOND, appShutdownMs: 30 * SECOND, marginMs: 2 * SECOND });
  });

  test.each<[string, DeadlineInputs, Deadlines]>([
    ['/prestop at the start, no word from Kubernetes: the configured grace period', { since: T }, { podEndsAt: s(60), exitBy: s(59), answerBy: s(28), takeOutBy: s(28) }],
    ['the drain began 10 s after the SIGTERM: every deadline still counts from the SIGTERM', { since: T, drainStartedAt: s(10) }, { podEndsAt: s(60), exitBy: s(59), answerBy: s(28), takeOutBy: s(28) }],
    ['the pod ends at 40 s (delete --grace-period=40): the app keeps its shutdown and the margin', { since: T, podEndsAt: s(40) }, { podEndsAt: s(40), exitBy: s(39), answerBy: s(8), takeOutBy: s(8) }],
    ['the pod ends later than configured: the configured grace period wins', { since: T, podEndsAt: s(600) }, { podEndsAt: s(60), exitBy: s(59), answerBy: s(28), takeOutBy: s(28) }],
    ['the pod ends before the app’s shutdown fits: answer at once, still take out for a second', { since: T, podEndsAt: s(10) }, { podEndsAt: s(10), exitBy: s(9), answerBy: T, takeOutBy: s(1) }],
    ['learnt after the drain began, already past: never before the drain’s start', { since: T, drainStartedAt: s(5), podEndsAt: s(20) }, { podEndsAt: s(20), exitBy: s(19), answerBy: s(5), takeOutBy: s(6) }],
    ['the pod ends 1.5 s in: the take-out floor stops at the process’s own end', { since: T, podEndsAt: T + 1_500 }, { podEndsAt: T + 1_500, exitBy: T + 500, answerBy: T, takeOutBy: T + 500 }],
  ])('%s', (_name, inputs, expected) => {
    const d = deadlinesOf(rules, inputs);
    expect(d).toEqual(expected);
    // The invariants every row keeps.
    expect(d.exitBy).toBe(d.podEndsAt - EXIT_LEAD_MS);
    expect(d.answerBy).toBeGreaterThanOrEqual(inputs.drainStartedAt ?? inputs.since);
    expect(d.takeOutBy).toBeGreaterThanOrEqual(d.answerBy);
    expect(d.takeOutBy).toBeLessThanOrEqual(Math.max(d.answerBy, d.exitBy));
    expect(d.takeOutBy).toBeLessThanOrEqual(Math.max(d.answerBy, (inputs.drainStartedAt ?? inputs.since) + TAKE_OUT_FLOOR_MS));
  });

  test('a grace period shorter than the app’s shutdown and the margin: the budget is empty, the drain answers at its start', () => {
    const tiny = deadlineRules(computePlan(testConfig({ DRAINER_GRACE_PERIOD_SECONDS: '3' }).timings), testConfig().timings);
    expect(deadlinesOf(tiny, { since: T })).toEqual({ podEndsAt: s(3), exitBy: s(2), answerBy: T, takeOutBy: s(1) });
  });

  test.each([
    ['nothing known yet: what Kubernetes said', undefined, s(40), s(40)],
    ['earlier than known: moves', s(40), s(20), s(20)],
    ['later than known: stays', s(20), s(40), s(20)],
  ])('the pod’s end only moves earlier: %s', (_name, known, learnt, expected) => {
    expect(earlierEnd(known, learnt)).toBe(expected);
  });

  test.each([
    ['called well before the deadline: until the deadline', { answerBy: s(28), exitBy: s(59) }, s(10), s(28)],
    ['called at the deadline: the late-call allowance', { answerBy: s(28), exitBy: s(59) }, s(28), s(28) + LATE_CALL_MS],
    ['called after a cut: the allowance from the call', { answerBy: s(5), exitBy: s(19) }, s(12), s(12) + LATE_CALL_MS],
    ['never past the process’s own end', { answerBy: T, exitBy: T + 300 }, T, T + 300],
  ])('the app-exit call: %s', (_name, d, calledAt, expected) => {
    expect(lateCallBy({ podEndsAt: d.exitBy + EXIT_LEAD_MS, takeOutBy: d.answerBy, ...d }, calledAt)).toBe(expected);
  });
});

describe('live deadlines and the waits that follow them', () => {
  test('learning an earlier end moves every deadline; a later one changes nothing', () => {
    const live = new LiveDeadlines(rules, T, T);
    expect(live.learnPodEnd(s(600))).toBe(false);
    expect(live.current().answerBy).toBe(s(28));
    expect(live.learnPodEnd(s(40))).toBe(true);
    expect(live.current()).toEqual({ podEndsAt: s(40), exitBy: s(39), answerBy: s(8), takeOutBy: s(8) });
    expect(live.learnPodEnd(s(50))).toBe(false);
    expect(live.current().answerBy).toBe(s(8));
  });

  test('a signal armed on a deadline fires at the new one when it moves earlier mid-wait', async () => {
    const clock = new ManualClock(T);
    const live = new LiveDeadlines(rules, T, T);
    const bound = untilSignal(clock, live.time((d) => d.answerBy));
    await clock.advance(3 * SECOND);
    live.learnPodEnd(s(37.5)); // answer by 5.5 s
    await clock.advance(2 * SECOND);
    expect(bound.signal.aborted).toBe(false);
    await clock.advance(500);
    expect(bound.signal.aborted).toBe(true);
    expect(bound.expired()).toBe(true);
  });

  test('a deadline moved to the past ends the wait at once', async () => {
    const clock = new ManualClock(T);
    const live = new LiveDeadlines(rules, T, T);
    let woke: number | undefined;
    void sleepBefore(clock, 60 * SECOND, live.time((d) => d.answerBy)).then(() => (woke = clock.now()));
    await clock.advance(4 * SECOND);
    live.learnPodEnd(s(30)); // answer by the start: already past
    await clock.advance(0);
    expect(woke).toBe(s(4));
  });

  test('a pause ends at its own length when the deadline is later, and rejects when its signal aborts', async () => {
    const clock = new ManualClock(T);
    const live = new LiveDeadlines(rules, T, T);
    const pause = sleepBefore(clock, 2 * SECOND, live.time((d) => d.answerBy));
    await clock.run(pause);
    expect(clock.now()).toBe(s(2));
    const abort = new AbortController();
    const aborted = sleepBefore(clock, 2 * SECOND, live.time((d) => d.answerBy), abort.signal);
    abort.abort(new Error('aborted by POST /drain/abort'));
    await expect(aborted).rejects.toThrow('aborted by POST /drain/abort');
  });

  test('a finished wait stops following the deadlines', async () => {
    const clock = new ManualClock(T);
    const live = new LiveDeadlines(rules, T, T);
    const bound = untilSignal(clock, live.time((d) => d.answerBy));
    bound.cancel();
    live.learnPodEnd(s(33));
    await clock.advance(30 * SECOND);
    expect(bound.signal.aborted).toBe(false);
  });
});
