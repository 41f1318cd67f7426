import { createLogLimiter } from '../../../src/http/log-limiter';

describe('log limiter', () => {
  test('the first event of a kind is logged, then at most one line per interval carrying the suppressed count', () => {
    let now = 1_000;
    const limiter = createLogLimiter(10_000, () => now);
    expect(limiter.admit('forbidden')).toEqual({ suppressed: 0 });
    for (let i = 0; i < 500; i++) {
      now += 10;
      expect(limiter.admit('forbidden')).toBeUndefined();
    }
    now = 1_000 + 9_999;
    expect(limiter.admit('forbidden')).toBeUndefined();
    now = 1_000 + 10_000;
    expect(limiter.admit('forbidden')).toEqual({ suppressed: 501 });
    now += 1;
    expect(limiter.admit('forbidden')).toBeUndefined();
    now += 60_000;
    expect(limiter.admit('forbidden')).toEqual({ suppressed: 1 });
  });

  test('kinds are limited separately', () => {
    const now = 0;
    const limiter = createLogLimiter(10_000, () => now);
    expect(limiter.admit('forbidden')).toEqual({ suppressed: 0 });
    expect(limiter.admit('unauthorized')).toEqual({ suppressed: 0 });
    expect(limiter.admit('forbidden')).toBeUndefined();
    expect(limiter.admit('unauthorized')).toBeUndefined();
  });

  test('a clock that steps back does not silence a kind for good', () => {
    let now = 100_000;
    const limiter = createLogLimiter(10_000, () => now);
    expect(limiter.admit('k')).toEqual({ suppressed: 0 });
    now = 0;
    expect(limiter.admit('k')).toEqual({ suppressed: 0 });
  });
});
