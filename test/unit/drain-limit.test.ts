/**
 * bench/drain-limit.ts: a drain's physical limit, its provable bound and the ratios `npm run bench` prints,
 * from fixed numbers (ms since /prestop).
 */
import { drainLimit, physicalLimitMs, provableBoundMs, ratio } from '../../bench/drain-limit';

const DEFAULTS = { registryFetchMs: 30_000, loadBalancerMs: 35_000 };

describe('physicalLimitMs', () => {
  it('is the answer time of the last request the instance served, in-flight time included', () => {
    expect(physicalLimitMs({ sentMs: 41_980, answeredMs: 42_005 })).toBe(42_005);
  });

  it('is 0 when the last answer came before /prestop, null when the instance served nothing', () => {
    expect(physicalLimitMs({ sentMs: -30, answeredMs: -5 })).toBe(0);
    expect(physicalLimitMs(null)).toBeNull();
  });

  it('refuses an answer before its request and times that are not numbers', () => {
    expect(() => physicalLimitMs({ sentMs: 100, answeredMs: 90 })).toThrow('answered (90 ms) before it was sent (100 ms)');
    expect(() => physicalLimitMs({ sentMs: Number.NaN, answeredMs: 90 })).toThrow('lastServed.sentMs must be a finite number of ms, got NaN');
  });
});

describe('provableBoundMs', () => {
  it('is the slowest server flip + fetch + LB when the last request ended inside that window', () => {
    expect(provableBoundMs({ flipsMs: [12_000, 25_700], ...DEFAULTS }, { sentMs: 40_000, answeredMs: 40_020 })).toBe(90_700);
  });

  it('is the last answer when a request was still in flight after the window', () => {
    expect(provableBoundMs({ flipsMs: [500, 900], registryFetchMs: 1_000, loadBalancerMs: 2_000 }, { sentMs: 3_890, answeredMs: 3_950 })).toBe(3_950);
  });

  it('is unknown (null) when a server never showed the flip: its term was a worst case, not an observation', () => {
    expect(provableBoundMs({ flipsMs: [12_000, null], ...DEFAULTS }, null)).toBeNull();
  });

  it('refuses a report without servers and negative intervals', () => {
    expect(() => provableBoundMs({ flipsMs: [], ...DEFAULTS }, null)).toThrow('no server flips');
    expect(() => provableBoundMs({ flipsMs: [1], registryFetchMs: -1, loadBalancerMs: 0 }, null)).toThrow('registryFetchMs must not be negative, got -1 ms');
  });
});

describe('ratio', () => {
  it('divides to two decimals, null when either side is unknown or the whole is 0', () => {
    expect(ratio(77_100, 53_200)).toBe(1.45);
    expect(ratio(77_100, null)).toBeNull();
    expect(ratio(null, 1)).toBeNull();
    expect(ratio(5, 0)).toBeNull();
  });
});

describe('drainLimit', () => {
  it('puts a drainer round at the defaults against its limit and its bound', () => {
    const limit = drainLimit(91_500, { sentMs: 48_000, answeredMs: 48_012 }, { flipsMs: [21_300, 26_400], ...DEFAULTS });
    expect(limit).toEqual({
      drainMs: 91_500,
      lastServed: { sentMs: 48_000, answeredMs: 48_012 },
      physicalLimitMs: 48_012,
      drainOverLimit: 1.91,
      slowestFlipMs: 26_400,
      boundMs: 91_400,
      drainOverBound: 1,
    });
  });

  it('gives the fixed sleep (no report) a limit but no bound', () => {
    const limit = drainLimit(105_000, { sentMs: 34_400, answeredMs: 34_410 });
    expect(limit.drainOverLimit).toBe(3.05);
    expect(limit.boundMs).toBeNull();
    expect(limit.drainOverBound).toBeNull();
    expect(limit.slowestFlipMs).toBeNull();
  });
});
