import { cacheTermMs, changeHeldBy, EARLY_READ_FROM_INTERVAL_MS, proofReadTimes, tickSlackMs } from '../../../src/drain/read-schedule';

const T = Date.parse('2026-01-01T00:00:07.300Z');

describe('the reading schedule of the callers’ view (issue 23)', () => {
  test.each([
    // [cache interval, first read, second read] after a change at T
    [3_000, T + 3_500, T + 6_500],
    [1_000, T + 1_250, T + 2_250],
    [500, T + 625, T + 1_125],
  ])('a %i ms cache: one interval plus the slack after the change, then one interval later', (cacheMs, first, second) => {
    expect(proofReadTimes(T, cacheMs)).toEqual([first, second]);
    // The first read is more than a whole interval after the change: a tick fell between, wherever its phase is.
    expect(first - T).toBeGreaterThan(cacheMs);
    expect(second - first).toBe(cacheMs);
  });

  test.each([
    // [cache interval, the early read, then the two above]
    [30_000, T + 15_000, T + 30_500, T + 60_500],
    [10_000, T + 5_000, T + 10_500, T + 20_500],
  ])('a %i ms cache (10 s and more): half an interval after the change first, then the same two', (cacheMs, early, first, second) => {
    expect(cacheMs).toBeGreaterThanOrEqual(EARLY_READ_FROM_INTERVAL_MS);
    expect(proofReadTimes(T, cacheMs)).toEqual([early, first, second]);
  });

  test('just under 10 s: no early read', () => {
    expect(proofReadTimes(T, EARLY_READ_FROM_INTERVAL_MS - 1)).toHaveLength(2);
  });

  test('the threshold can be lowered (the cache-race test checks the early read on a fast cache): the same rule', () => {
    expect(proofReadTimes(T, 1_000, 0)).toEqual([T + 500, T + 1_250, T + 2_250]);
  });

  test('the read-only cache off: read at once, then once more after the slack', () => {
    expect(proofReadTimes(T, 0)).toEqual([T, T + 500]);
    expect(tickSlackMs(0)).toBe(500);
  });

  test('a key stale at the last read is held: changeHeldBy is that read', () => {
    expect(changeHeldBy(T, 3_000)).toBe(T + 6_500);
    expect(changeHeldBy(T, 30_000)).toBe(T + 60_500);
    expect(changeHeldBy(T, 0)).toBe(T + 500);
  });

  test.each([
    [Number.NaN, 3_000],
    [T, -1],
    [T, Number.POSITIVE_INFINITY],
  ])('bad input is refused with what was given: %p, %p', (changedAt, cacheMs) => {
    expect(() => proofReadTimes(changedAt, cacheMs)).toThrow(/proofReadTimes needs a finite change time and a cache interval of at least 0 ms, got /);
  });
});

test('the server-cache term: the interval plus the tick’s slack (a large key is copied a little past the interval), none without the read-only cache', () => {
  expect([cacheTermMs(30_000), cacheTermMs(3_000), cacheTermMs(1_000), cacheTermMs(0)]).toEqual([30_500, 3_500, 1_250, 0]);
  // The read after the tick is one term after the change: a proof there settles the server no earlier than the worst case would.
  expect(proofReadTimes(0, 3_000)[0]).toBe(cacheTermMs(3_000));
  expect(proofReadTimes(0, 30_000)[1]).toBe(cacheTermMs(30_000));
});
