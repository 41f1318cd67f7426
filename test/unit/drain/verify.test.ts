/**
 * verify.ts on its own (issue 23, issue 24 A1): given the callers' delta's answers at these times, verify reads
 * it N times, reports these pieces of evidence in this order and returns them. Reads of the callers' view are
 * counted per server, at the scaled (3 s) and at the default (30 s) cache interval.
 */
import { deadlineRules } from '../../../src/drain/deadlines';
import { LiveDeadlines } from '../../../src/drain/live-deadlines';
import { EARLY_READ_FROM_INTERVAL_MS } from '../../../src/drain/read-schedule';
import { newRecord, recordEvidence, type ServerEvidencePiece } from '../../../src/drain/record';
import { serverSettledAt, staleKeyHeld } from '../../../src/drain/timing';
import { verify } from '../../../src/drain/verify';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;

/**
 * Two servers, the instance registered UP on both at the start; verify runs from the PUT on, its
 * pieces written into the record as run.ts does and kept, per server, in the order they came.
 */
function verifyFixture(cacheMs: number, servers = 2, env: Record<string, string> = {}) {
  const f = controllerFixture({ EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(cacheMs), DRAINER_GRACE_PERIOD_SECONDS: '600', ...env }, { servers });
  f.eureka.register({ instanceId: INSTANCE_ID });
  const start = f.clock.now();
  const deadlines = new LiveDeadlines(deadlineRules(f.plan, f.config.timings), start, start);
  const record = newRecord(
    f.servers.map((s) => s.label),
    start,
    deadlines,
    { planFits: true, appNotHeld: false },
  );
  record.instanceId = INSTANCE_ID;
  const pieces: ServerEvidencePiece[][] = f.servers.map(() => []);
  const verifyOne = (index: number) => {
    const state = record.servers[index]!;
    const input = {
      instanceId: INSTANCE_ID,
      index,
      startedAt: start,
      deadlines,
      inFlight: record.inFlight,
      taken: { put: state.put },
    };
    return verify(f.deps, input, new AbortController().signal, (piece) => {
      pieces[index]!.push(piece);
      recordEvidence(state, piece);
    });
  };
  const run = () => f.clock.run(Promise.all(f.servers.map((_, i) => verifyOne(i))));
  /** The reads of the callers' view verify sent to one server, as times after the start. */
  const proofReads = (index: number) => f.eureka.calls.filter((c) => c.op === 'get_delta' && c.server === f.servers[index]!.label).map((c) => c.at - start);
  return { ...f, start, record, pieces, run, proofReads };
}

test('given these answers, verify reports these pieces in this order and returns them (the PUT, the live view, a stale read, the proof, the end)', async () => {
  const cacheMs = 3 * SECOND;
  const f = verifyFixture(cacheMs);
  for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
  f.eureka.model(f.servers[1]!.label).deltaLagMs = cacheMs; // the first proof read still finds us offered
  const [, lagging] = await f.run();
  const [stale, proof] = [f.start + cacheMs + 500, f.start + 2 * cacheMs + 500];
  expect(f.pieces[1]).toStrictEqual([
    { put: 'ok', putAt: f.start, changedAt: f.start, error: undefined },
    { liveVerifiedAt: f.start },
    { lastStaleSeenAt: stale },
    { cacheVerifiedAt: proof, error: undefined },
    { gaveUpAt: proof },
  ]);
  expect(lagging).toStrictEqual({
    evidence: { put: 'ok', putAt: f.start, changedAt: f.start, liveVerifiedAt: f.start, lastStaleSeenAt: stale, cacheVerifiedAt: proof, error: undefined, gaveUpAt: proof },
    registeredAt: f.start,
  });
  // The cell run.ts keeps for /drain holds what was reported, the error cleared by the accepted PUT and the proof.
  expect(f.record.servers[1]).toEqual({ server: f.servers[1]!.label, restored: 0, ...lagging!.evidence });
  expect(f.record.servers[1]).not.toHaveProperty('error');
});

describe.each([3 * SECOND, 30 * SECOND])('verify at a %i ms cache', (cacheMs) => {
  const slack = Math.min(cacheMs / 4, 500);
  // From 10 s up, the schedule reads once more, half an interval after the change (read-schedule.ts).
  const early = cacheMs >= EARLY_READ_FROM_INTERVAL_MS ? [cacheMs / 2] : [];
  const slots = [...early, cacheMs + slack, 2 * cacheMs + slack];

  test('the delta flips before the first proof read: one read per server, verified then', async () => {
    const f = verifyFixture(cacheMs);
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
    await f.run();
    for (const [i, state] of f.record.servers.entries()) {
      expect(f.proofReads(i)).toEqual([slots[0]]);
      expect(state).toMatchObject({ put: 'ok', changedAt: f.start, cacheVerifiedAt: f.start + slots[0]! });
      expect(state.lastStaleSeenAt).toBeUndefined();
      // Settled at the proof: at a long interval half an interval earlier than one term after the change.
      expect(serverSettledAt(state, state.gaveUpAt!, f.config.timings)).toBe(f.start + slots[0]!);
    }
    // The app's view is not read: the proof is read on the callers' own key.
    expect(f.eureka.count('get_application')).toBe(0);
  });

  test('the delta flips after half an interval: one interval plus the slack after the PUT proves it (at a long interval, the second read)', async () => {
    const f = verifyFixture(cacheMs);
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = (cacheMs * 2) / 3;
    await f.run();
    for (const [i, state] of f.record.servers.entries()) {
      expect(f.proofReads(i)).toEqual([...early, cacheMs + slack]);
      expect(state).toMatchObject({ cacheVerifiedAt: f.start + cacheMs + slack });
      expect(state.lastStaleSeenAt).toBe(early.length > 0 ? f.start + early[0]! : undefined);
      expect(serverSettledAt(state, state.gaveUpAt!, f.config.timings)).toBe(f.start + cacheMs + slack);
    }
  });

  test('the delta lags past one interval (a drifted tick): a read one interval later proves it', async () => {
    const f = verifyFixture(cacheMs);
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
    f.eureka.model(f.servers[1]!.label).deltaLagMs = cacheMs; // the delta shows it at 4/3 of the interval
    await f.run();
    expect(f.proofReads(0)).toEqual([slots[0]]);
    expect(f.proofReads(1)).toEqual(slots);
    expect(f.record.servers[1]).toMatchObject({ cacheVerifiedAt: f.start + 2 * cacheMs + slack, lastStaleSeenAt: f.start + cacheMs + slack });
    expect(staleKeyHeld(f.record.servers[1]!, f.config.timings)).toBe(false);
  });

  test('the delta never shows the change (the race held the key): every read, unproven, counted until the key’s auto-expiry', async () => {
    const f = verifyFixture(cacheMs);
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
    f.eureka.model(f.servers[1]!.label).deltaLagMs = Number.POSITIVE_INFINITY;
    await f.run();
    const held = f.record.servers[1]!;
    expect(f.proofReads(1)).toEqual(slots);
    expect(held.cacheVerifiedAt).toBeUndefined();
    expect(held.lastStaleSeenAt).toBe(f.start + 2 * cacheMs + slack);
    expect(held.gaveUpAt).toBe(f.start + 2 * cacheMs + slack); // no read after the last
    expect(held.error).toMatch(/cache race.*auto-expiry/);
    expect(staleKeyHeld(held, f.config.timings)).toBe(true);
    expect(serverSettledAt(held, held.gaveUpAt!, f.config.timings)).toBe(f.start + 2 * cacheMs + slack + 180 * SECOND + cacheMs + slack);
  });
});

test('a PUT refused at first: the schedule runs from the accepted PUT, the refusals retried on the poll pause', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
  const f = verifyFixture(3 * SECOND);
  f.eureka.model(f.servers[0]!.label).refuseUntil = { put_status: f.start + 1_200 };
  await f.run();
  jest.restoreAllMocks();
  const changedAt = f.record.servers[0]!.changedAt!;
  expect(changedAt).toBeGreaterThanOrEqual(f.start + 1_200);
  expect(f.proofReads(0)).toEqual([changedAt - f.start + 3_500]);
  expect(f.record.servers[0]!.cacheVerifiedAt).toBe(changedAt + 3_500);
});

test('nothing is read before the change: a delta that already showed us out (an earlier drain’s override) proves it at the first read', async () => {
  const f = verifyFixture(3 * SECOND);
  for (const s of f.servers) f.eureka.model(s.label).deltaFilter = (list) => list.map((i) => ({ ...i, status: 'OUT_OF_SERVICE' }));
  await f.run();
  for (const [i, state] of f.record.servers.entries()) {
    expect(f.proofReads(i)).toEqual([3 * SECOND + 500]);
    expect(state).toMatchObject({ cacheVerifiedAt: f.start + 3 * SECOND + 500 });
    expect(state.error).toBeUndefined();
  }
  expect(f.eureka.calls.map((c) => c.op).slice(0, 2)).toEqual(['put_status', 'put_status']);
});

test('an instance gone from a server (the app cancelled it first): asked again until the cutoff, and the report still says it was not registered, not that the cutoff cut a request', async () => {
  const f = verifyFixture(3 * SECOND);
  f.eureka.appCancelled(INSTANCE_ID);
  for (const s of f.servers) f.eureka.model(s.label).latency = { put_status: 50 }; // a real server takes a while to answer
  await f.run();
  const puts = f.eureka.calls.filter((c) => c.op === 'put_status' && c.server === f.servers[0]!.label);
  expect(puts.length).toBeGreaterThan(1); // a registration that has not replicated here yet may still come
  expect(f.record.servers[0]).toMatchObject({ put: 'not_found', error: expect.stringMatching(/^instance not registered on this server/) as unknown });
  expect(f.record.servers[0]!.error).not.toMatch(/cutoff|deadline/);
});

describe('DRAINER_CALLER_FETCH: the proof is read on every view the callers fetch', () => {
  const cacheMs = 3 * SECOND;
  const fetchFixture = (callerFetch: string) => {
    const f = verifyFixture(cacheMs, 2, { DRAINER_CALLER_FETCH: callerFetch });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
    const reads = (op: string) => f.eureka.calls.filter((c) => c.op === op).map((c) => c.at - f.start);
    return { ...f, reads };
  };

  test('full: the full registry (/apps/) is the proof, the delta is not read', async () => {
    const f = fetchFixture('full');
    await f.run();
    expect(f.reads('get_applications')).toEqual([cacheMs + 500, cacheMs + 500]);
    expect(f.reads('get_delta')).toEqual([]);
    for (const state of f.record.servers) expect(state.cacheVerifiedAt).toBe(f.start + cacheMs + 500);
  });

  test('both, the full registry a tick late: both read at the first proof read, only the full one at the second, proven then', async () => {
    const f = fetchFixture('both');
    f.eureka.model(f.servers[1]!.label).fullLagMs = cacheMs;
    await f.run();
    const onLagging = (op: string) => f.eureka.calls.filter((c) => c.op === op && c.server === f.servers[1]!.label).map((c) => c.at - f.start);
    expect(onLagging('get_delta')).toEqual([cacheMs + 500]);
    expect(onLagging('get_applications')).toEqual([cacheMs + 500, 2 * cacheMs + 500]);
    expect(f.record.servers[1]).toMatchObject({ lastStaleSeenAt: f.start + cacheMs + 500, cacheVerifiedAt: f.start + 2 * cacheMs + 500 });
    expect(f.record.servers[0]).toMatchObject({ cacheVerifiedAt: f.start + cacheMs + 500 });
    expect(f.record.servers[0]!.lastStaleSeenAt).toBeUndefined();
  });

  test('both, the full registry held by the race: unproven however fresh the delta, counted until the key’s auto-expiry, and the report names the view', async () => {
    const f = fetchFixture('both');
    f.eureka.model(f.servers[1]!.label).fullLagMs = Number.POSITIVE_INFINITY;
    await f.run();
    const held = f.record.servers[1]!;
    expect(held.cacheVerifiedAt).toBeUndefined();
    expect(held.error).toMatch(/^the full registry \(\/apps\/\) still offered the instance after the tick/);
    expect(staleKeyHeld(held, f.config.timings)).toBe(true);
  });

  test('both, the full registry unreadable at the first read: the delta’s proof is kept, the full registry read again at the second', async () => {
    const f = fetchFixture('both');
    f.eureka.model(f.servers[1]!.label).refuseUntil = { get_applications: f.start + cacheMs + 600 };
    await f.run();
    const onRefusing = (op: string) => f.eureka.calls.filter((c) => c.op === op && c.server === f.servers[1]!.label).map((c) => c.at - f.start);
    expect(onRefusing('get_delta')).toEqual([cacheMs + 500]);
    expect(onRefusing('get_applications')).toEqual([cacheMs + 500, 2 * cacheMs + 500]);
    expect(f.record.servers[1]).toMatchObject({ cacheVerifiedAt: f.start + 2 * cacheMs + 500 });
    expect(f.record.servers[1]!.error).toBeUndefined();
    expect(f.record.servers[1]!.lastStaleSeenAt).toBeUndefined(); // unread is not seen offered
  });
});

test('a proof read that fails is not a sighting: the server counts at its worst case, not until the key’s auto-expiry', async () => {
  const cacheMs = 3 * SECOND;
  const f = verifyFixture(cacheMs);
  for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = cacheMs / 3;
  f.eureka.model(f.servers[1]!.label).refuseUntil = { get_delta: f.start + 3_600_000 }; // every read of the delta answers 503
  await f.run();
  const failing = f.record.servers[1]!;
  expect(f.proofReads(1)).toEqual([cacheMs + 500, 2 * cacheMs + 500]);
  expect(failing.cacheVerifiedAt).toBeUndefined();
  expect(failing.lastStaleSeenAt).toBeUndefined();
  expect(failing.error).toMatch(/503/);
  expect(staleKeyHeld(failing, f.config.timings)).toBe(false);
  expect(serverSettledAt(failing, failing.gaveUpAt!, f.config.timings)).toBe(f.start + cacheMs + 500);
});
