import { clientWindowEnd, primedInTime, serverSettledAt } from '../../../src/drain/timing';
import { testConfig } from '../../helpers/config';

const timings = testConfig().timings; // 30 s cache, 30 s fetch, 35 s LoadBalancer
const START = 1_000_000;

describe('drain timing', () => {
  test.each([
    ['verified at +3 s', { cacheVerifiedAt: START + 3_000 }, START + 3_000],
    ['not verified: the full cache term', {}, START + 30_000],
    ['still offered at +31 s: later than the worst case', { lastStaleSeenAt: START + 31_000 }, START + 31_000],
    ['seen, but untrusted: the worst case', { cacheVerifiedAt: START + 3_000, trusted: false }, START + 30_000],
    ['seen at +32 s, untrusted: what was seen', { cacheVerifiedAt: START + 32_000, trusted: false }, START + 32_000],
  ])('%s', (_name, evidence, settled) => {
    expect(serverSettledAt(evidence, START, timings)).toBe(settled);
  });

  test('the client window runs from the latest server: one unverified server sets it', () => {
    expect(clientWindowEnd([{ cacheVerifiedAt: START + 1_000 }, {}], START, timings)).toBe(START + 30_000 + 65_000);
    expect(clientWindowEnd([{ cacheVerifiedAt: START + 1_000 }, { cacheVerifiedAt: START + 2_000 }], START, timings)).toBe(START + 67_000);
  });

  test.each([
    [undefined, 100, false],
    [90, 100, true],
    [250, 100, true],
    [400, 100, false],
    [50, undefined, true],
  ])('primed at %s, first override at %s: in time = %s', (primedAt, firstPutAt, expected) => {
    expect(primedInTime(primedAt, firstPutAt)).toBe(expected);
  });
});
