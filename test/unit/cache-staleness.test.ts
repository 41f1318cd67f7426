/** The counting behind test/e2e/eureka-cache-race.test.ts, on answers made up to have a known answer. */
import { measureStaleness, type CachedView, type ViewAnswer } from '../e2e/support/cache-staleness';

const BOUNDS = { pastTickMs: 1_000, recoverMs: 2_000, windowMs: 60_000 };
const answer = (view: CachedView, sentAt: number, out: string[]): ViewAnswer => ({ view, sentAt, receivedAt: sentAt + 10, out: new Set(out) });

test('a view that flips on the next tick: not stale past it, worst = time to the first fresh answer', () => {
  const r = measureStaleness([{ id: 'a', appliedAt: 0 }], [answer('app', 100, []), answer('app', 600, ['a']), answer('app', 1_500, ['a'])], BOUNDS);
  expect(r.views.app).toMatchObject({ answers: 3, stalePastTick: 0, changesStalePastTick: 0, worstMs: 610, regressions: 0, neverFresh: 0 });
});

test('a delta stuck past the tick while the app view is fresh: counted, with the gap', () => {
  const changes = [{ id: 'a', appliedAt: 0 }, { id: 'b', appliedAt: 5_000 }];
  const answers = [
    answer('app', 100, []),
    answer('app', 600, ['a']),
    answer('delta', 600, []),
    answer('delta', 1_200, []),
    answer('delta', 4_000, []),
    answer('delta', 5_600, ['a', 'b']),
    answer('app', 5_600, ['a', 'b']),
    answer('delta', 7_500, ['a', 'b']),
    answer('app', 7_500, ['a', 'b']),
  ];
  const r = measureStaleness(changes, answers, BOUNDS);
  expect(r.views.delta).toMatchObject({ stalePastTick: 2, changesStalePastTick: 1, worstMs: 5_610, regressions: 0, staleAfterNextChange: 0, checkedAfterNextChange: 1 });
  expect(r.appFreshDeltaStale).toBe(1);
  expect(r.appFreshDeltaStaleWorstMs).toBe(4_000 - 610);
});

test('a full registry stale after both the app view and the delta showed the change: counted from the later of the two', () => {
  const answers = [
    answer('app', 600, ['a']),
    answer('delta', 1_200, ['a']),
    answer('full', 1_000, []),
    answer('full', 1_300, []),
    answer('full', 3_000, []),
    answer('full', 3_500, ['a']),
  ];
  const r = measureStaleness([{ id: 'a', appliedAt: 0 }], answers, BOUNDS);
  expect(r.appAndDeltaFreshFullStale).toBe(1);
  expect(r.appAndDeltaFreshFullStaleWorstMs).toBe(3_000 - 1_210);
});

test('a view that goes back to stale, or stays stale after the next change, or never shows it: each counted', () => {
  const changes = [{ id: 'a', appliedAt: 0 }, { id: 'b', appliedAt: 1_000 }];
  const answers = [answer('full', 500, ['a']), answer('full', 800, []), answer('full', 3_500, ['a']), answer('full', 4_000, [])];
  const r = measureStaleness(changes, answers, BOUNDS);
  expect(r.views.full).toMatchObject({ regressions: 2, staleAfterNextChange: 1, checkedAfterNextChange: 2, neverFresh: 1 });
});

test('answers sent before a change, or after its window, do not count for it', () => {
  const r = measureStaleness([{ id: 'a', appliedAt: 1_000 }], [answer('app', 900, []), answer('app', 1_100, ['a']), answer('app', 90_000, [])], BOUNDS);
  expect(r.views.app).toMatchObject({ answers: 3, stalePastTick: 0, regressions: 0, worstMs: 110 });
});
