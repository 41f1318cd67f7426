import { clientWindowEnd, isVerified, serverSettledAt, staleKeyHeld, verificationCutoff, verifyPause, type ServerEvidence } from '../../../src/drain/timing';
import { testConfig } from '../../helpers/config';

const timings = testConfig().timings; // 30 s cache, 30 s fetch, 35 s LoadBalancer
const START = 1_000_000;
const s = (ms: number): number => START + ms;

describe('drain timing: when may a server last have offered the instance? (issue 7 B6)', () => {
  // The rule: one server-cache term (the 30 s interval + the tick's 500 ms slack) after the change last reached the server
  // (its latest accepted PUT, or when we gave up if it never accepted one),
  // unless a proof read of the callers' view proved it earlier.
  test.each([
    ['PUT at +0.1 s, verified at +3 s', { changedAt: s(100), cacheVerifiedAt: s(3_000) }, s(60_000), s(3_000)],
    ['PUT at +0.1 s, never verified: cache term from the PUT', { changedAt: s(100) }, s(31_100), s(30_600)],
    ['PUT refused 3.5 s then accepted, not verified: from the accepted PUT', { changedAt: s(3_500) }, s(34_500), s(34_000)],
    ['PUT accepted at +3.5 s, verified at +20 s', { changedAt: s(3_500), cacheVerifiedAt: s(20_000) }, s(34_500), s(20_000)],
    ['PUT never accepted, gave up at +31 s: from the give-up', {}, s(31_000), s(61_500)],
    ['still offered at +40 s, before the second read (+60.6 s) could call the key held: what was seen', { changedAt: s(100), lastStaleSeenAt: s(40_000) }, s(31_100), s(40_000)],
    ['still offered at the second read (+60.6 s): held by the race, counted until its expiry (180 s) and the next tick', { changedAt: s(100), lastStaleSeenAt: s(60_600) }, s(60_700), s(60_600 + 180_000 + 30_500)],
    ['held, then proven: the proof', { changedAt: s(100), lastStaleSeenAt: s(60_600), cacheVerifiedAt: s(90_700) }, s(90_700), s(90_700)],
    ['proven by the first read (+30.6 s), never seen stale: one term after the PUT', { changedAt: s(100), cacheVerifiedAt: s(30_700) }, s(30_700), s(30_600)],
    ['stale at the first read, proven by the second: the proof', { changedAt: s(100), lastStaleSeenAt: s(30_600), cacheVerifiedAt: s(60_700) }, s(60_700), s(60_700)],
    ['verified, then the override vanished and was put back at +50 s', { changedAt: s(50_000), cacheVerifiedAt: s(3_000), restored: 1 }, s(81_000), s(80_500)],
  ] as [string, ServerEvidence, number, number][])('%s', (_name, evidence, gaveUpAt, settled) => {
    expect(serverSettledAt(evidence, gaveUpAt, timings)).toBe(settled);
    // Never earlier than the change could have reached the server, unless proven.
    if (!isVerified(evidence)) expect(settled).toBeGreaterThanOrEqual((evidence.changedAt ?? gaveUpAt) + timings.serverCacheMs + 500);
  });

  test('the client window runs from the latest server: one unverified server sets it', () => {
    expect(clientWindowEnd([{ cacheVerifiedAt: s(1_000), changedAt: s(100) }, { changedAt: s(100) }], START, timings)).toBe(s(30_600 + 65_000));
    expect(clientWindowEnd([{ cacheVerifiedAt: s(1_000) }, { cacheVerifiedAt: s(2_000) }], START, timings)).toBe(s(67_000));
  });

  test('verification ends after the second proof read (and time for its answer) past the accepted PUT; before one, a cache term past the drain start', () => {
    // Second read: two cache terms plus the 500 ms slack after the PUT; its answer gets 2.4 × 1875 ms.
    expect(verificationCutoff(s(3_500), START, timings, 500)).toBe(s(3_500 + 60_500 + 4_500));
    expect(verificationCutoff(undefined, START, timings, 500)).toBe(s(34_500));
  });

  test('a key is held by the race only when seen stale at or after the second proof read', () => {
    expect(staleKeyHeld({ changedAt: s(0), lastStaleSeenAt: s(60_499) }, timings)).toBe(false);
    expect(staleKeyHeld({ changedAt: s(0), lastStaleSeenAt: s(60_500) }, timings)).toBe(true);
    expect(staleKeyHeld({ lastStaleSeenAt: s(90_000) }, timings)).toBe(false); // no accepted change: nothing to hold
    expect(staleKeyHeld({ changedAt: s(0) }, timings)).toBe(false);
  });

  test('polls no faster than the evidence can change, jittered ±20 %', () => {
    expect(verifyPause(500, 30_000, () => 0.5)).toBe(1_875);
    expect(verifyPause(500, 30_000, () => 0)).toBe(1_500);
    expect(verifyPause(500, 30_000, () => 1)).toBe(2_250);
    expect(verifyPause(100, 1_000, () => 0.5)).toBe(100);
  });
});
