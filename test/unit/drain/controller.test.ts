import { expect } from '@jest/globals';
import { companionMode } from '../../../src/drain/companion-mode';
import { REPLICATION_SETTLE_MS } from '../../../src/drain/replication-settle';
import { computePlan } from '../../../src/plan';
import { testConfig } from '../../helpers/config';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;

describe('DrainController', () => {
  // The verification polls are jittered (timing.ts, tested there); here they are pinned to their middle so the bounds stay tight.
  beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0.5));
  afterEach(() => jest.restoreAllMocks());

  test('the default 95 s + tail drain runs in milliseconds and waits from the verified time', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 30 * SECOND; // the read-only cache refreshes at its worst
    const started = Date.now();
    const report = await f.clock.run(f.controller.prestop());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report.outcome).toBe('verified');
    expect(report.instanceId).toBe(INSTANCE_ID);
    // 30 s cache (proven by the one read of the delta one interval + 500 ms after the PUT, which settles the server
    // one term after it: the interval + the tick's 500 ms slack) + 30 s fetch + 35 s LB + 10 s tail.
    expect(report.durationMs).toBe(105 * SECOND + 500);
    expect(report.servers.every((s) => s.verified)).toBe(true);
    expect(f.eureka.count('put_status')).toBe(2);
  });

  test("at Spring's defaults a tick in the first half of the interval is proven by the early read: 15 s + 30 s fetch + 35 s LB + tail", async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 10 * SECOND;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(report.servers.map((s) => s.cacheVerifiedMs)).toEqual([15 * SECOND, 15 * SECOND]);
    expect(report.durationMs).toBe(90 * SECOND);
    // One read of the callers' view per server: the early one proved it.
    expect(f.eureka.count('get_delta')).toBe(2);
  });

  test('a pod given the grace period its plan asks for (what inject writes) fits a verified drain whose cache flipped at its worst', async () => {
    // The plan counts the server cache as the drain does, with the tick's slack: 137.5 s, so 138 (137 cut this drain 500 ms short).
    const env = { DRAINER_TAIL_SECONDS: '10' };
    const graceSeconds = Math.ceil(computePlan(testConfig(env).timings).requiredGraceMs / 1000);
    expect(graceSeconds).toBe(138);
    const f = controllerFixture({ ...env, DRAINER_GRACE_PERIOD_SECONDS: String(graceSeconds) });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 30 * SECOND;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(report.durationMs).toBe(105 * SECOND + 500);
    expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs);
    expect(report.actual.tailEndedBy).toBe('fixed');
  });

  test('the wait runs from the proof: a 3 s cache proven at 3.5 s (not stale before) settles one term (3 s + 500 ms slack) after the PUT: 3.5 + 65 + tail', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '3000' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 1 * SECOND;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(report.durationMs).toBe(78 * SECOND + 500); // the one proof read, one interval + 500 ms after the PUT, settles one term after it
    expect(report.actual.tailEndedBy).toBe('fixed');
  });

  test('the override is the first request to each server once the instance is found, and goes to every server', async () => {
    const f = controllerFixture({}, { servers: 3 });
    f.eureka.register({ instanceId: INSTANCE_ID });
    await f.clock.run(f.controller.prestop());
    for (const server of f.servers) {
      const ops = f.eureka.calls.filter((c) => c.server === server.label).map((c) => c.op);
      // locate reads the app's view; nothing else comes before the change
      expect(ops.slice(0, ops.indexOf('put_status'))).toEqual(['get_application']);
      expect(ops.indexOf('get_delta')).toBeGreaterThan(ops.indexOf('put_status'));
    }
    expect(new Set(f.eureka.calls.filter((c) => c.op === 'put_status').map((c) => c.server)).size).toBe(3);
  });

  test('/drain mid-drain: each server’s results as they arrive (the change accepted, then the proof, then a restore)', async () => {
    // A 3 s cache: the proof read comes one interval (+ 500 ms) after the change (read-schedule.ts).
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '3000' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 3 * SECOND;
    const servers = () => f.controller.snapshot().servers as { put: string; cacheVerifiedMs: number | null; verified: boolean; restored: number }[];
    const drain = f.controller.prestop();
    await f.clock.advance(SECOND);
    expect(servers().map((s) => [s.put, s.verified])).toEqual([
      ['ok', false],
      ['ok', false],
    ]);
    await f.clock.advance(4 * SECOND);
    expect(servers().every((s) => s.verified && s.cacheVerifiedMs !== null)).toBe(true);
    f.eureka.reRegister(INSTANCE_ID); // a config refresh in the app: the override is gone
    await f.clock.advance(5 * SECOND);
    expect(servers().map((s) => [s.put, s.restored])).toEqual([
      ['ok', 1],
      ['ok', 1],
    ]);
    await f.clock.run(drain);
  });

  test('issue 10/23: per server, locate + put + live proof + one proof read of the delta, then one keep-out check per poll of the window', async () => {
    // Cache 1 s, fetch 1 s, LB 2 s, tail 1 s (the fleet bench's settings); the cache flips 700 ms after the override.
    const f = controllerFixture({ EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '1000', EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1', SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '2s', DRAINER_TAIL_SECONDS: '1' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 700;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    const poll = f.config.verifyPollMs;
    for (const server of f.servers) {
      const calls = f.eureka.calls.filter((c) => c.server === server.label);
      const put = calls.findIndex((c) => c.op === 'put_status');
      // locate reads the app's view to find the instance; nothing is read of the callers' view before the change
      expect(calls.slice(0, put).map((c) => c.op)).toEqual(['get_application']);
      const verifiedAt = Date.parse(report.startedAt) + report.servers[f.servers.indexOf(server)]!.cacheVerifiedMs!;
      const verification = calls.filter((c) => c.at <= verifiedAt);
      expect(verification.map((c) => c.op)).toEqual(['get_application', 'put_status', 'get_instance', 'get_delta']);
      // keep-out: the first check one poll after the proof, then one per poll until the tail ends (fetch + LB + tail)
      const keepOut = calls.filter((c) => c.at > verifiedAt);
      expect(keepOut.every((c) => c.op === 'get_instance')).toBe(true);
      expect(keepOut[0]!.at - verifiedAt).toBe(poll);
      expect(keepOut.length).toBeLessThanOrEqual((1000 + 2000 + 1000) / poll);
    }
  });

  test("issue 23: the app's view flipped but the callers' delta did not (a lost invalidation): verified only when the delta shows us out", async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '3000' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 1 * SECOND;
    f.eureka.model(f.servers[1]!.label).deltaLagMs = 4 * SECOND;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    const [prompt, stuck] = report.servers;
    expect(prompt!.cacheVerifiedMs!).toBe(3_500); // the first proof read
    expect(stuck!.cacheVerifiedMs!).toBe(6_500); // the delta shows it at 5 s: the second read, one interval later
    // 6.5 s + 30 s fetch + 35 s LB + 10 s tail: the wait runs from the delta's proof.
    expect(report.durationMs).toBe(81 * SECOND + 500);
  });

  test("issue 23: a callers' delta that never shows us out leaves its server unproven, counted until the key's auto-expiry, however fresh the app's view", async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '3000', EUREKA_SERVER_RESPONSECACHEAUTOEXPIRATIONINSECONDS: '60' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 1 * SECOND;
    f.eureka.model(f.servers[1]!.label).deltaLagMs = Number.POSITIVE_INFINITY;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('partly_verified');
    expect(report.servers.map((s) => s.verified)).toEqual([true, false]);
    // Stale at the second read (6.5 s): + 60 s expiry + one term (3 s tick + 500 ms), then 30 s fetch + 35 s LB + 10 s tail.
    expect(report.durationMs).toBe(6_500 + 63_500 + 75 * SECOND);
    expect(f.eureka.count('get_delta')).toBe(3); // one proof read on the prompt server, two on the held one
  });

  test('issue 23: with the instance id given, the overrides are the drain’s first requests, sent to every server at once', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_INSTANCE_ID: INSTANCE_ID });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) Object.assign(f.eureka.model(s.label), { latency: { get_delta: 250 }, cacheDelayMs: SECOND });
    const started = f.clock.now();
    const report = await f.clock.run(f.controller.prestop());
    expect(f.eureka.calls.slice(0, 2).map((c) => [c.op, c.at - started])).toEqual([
      ['put_status', 0],
      ['put_status', 0],
    ]);
    expect(report.servers.map((s) => s.verified)).toEqual([true, true]);
  });

  test('a hanging server does not hold up the override on the others', async () => {
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '150' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.eureka.model(f.servers[1]!.label).hang = true;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.servers[0]).toMatchObject({ put: 'ok', verified: true });
    expect(report.servers[0]!.liveVerifiedMs).toBeLessThan(1_000);
  });

  test('a server that is down counts at its worst case: the wait is never shorter than the plan for it', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.eureka.model(f.servers[0]!.label).cacheDelayMs = 1 * SECOND;
    f.eureka.model(f.servers[1]!.label).down = true;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('partly_verified');
    expect(report.durationMs).toBeGreaterThanOrEqual(105 * SECOND);
    expect(report.servers[1]).toMatchObject({ verified: false, put: 'failed' });
    expect(report.problems.join('\n')).toContain('counted at its worst case');
  });

  test('every server down: the full plan, and /prestop still answers', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    for (const s of f.servers) f.eureka.model(s.label).down = true;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('not_taken_out'); // nothing could be taken out: never reported as merely unverified
    // Every server says why (issue 7 item 15: never null when a request failed), and the problem is named.
    for (const server of report.servers) expect(server.error).toEqual(expect.stringContaining('ECONNREFUSED'));
    expect(report.problems.join('\n')).toContain('instance not found in eureka');
    expect(report.durationMs).toBeGreaterThanOrEqual(f.plan.drainMs);
  });

  test.each([
    ['one server hangs', [false, true]],
    ['every server hangs', [true, true]],
  ])('%s: the drain still answers, never before the worst case, never after the deadline', async (_name, hangs) => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_GRACE_PERIOD_SECONDS: '150' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.servers.forEach((s, i) => (f.eureka.model(s.label).hang = hangs[i]!));
    const report = await f.clock.run(f.controller.prestop());
    expect(report.durationMs).toBeGreaterThanOrEqual(f.plan.drainMs);
    expect(report.durationMs).toBeLessThanOrEqual(f.plan.drainBudgetMs);
    expect(report.servers[1]!.verified).toBe(false);
  });

  test('instance not found: waits the full plan and says so', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    const report = await f.clock.run(f.controller.prestop());
    expect(report.instanceId).toBeNull();
    expect(report.outcome).toBe('not_taken_out');
    expect(report.durationMs).toBeGreaterThanOrEqual(f.plan.drainMs);
    expect(f.lines.some((l) => l.msg === 'own instance not found in eureka: callers may still select it; waiting the full plan' && l.level === 'error')).toBe(true);
  });

  test('a plan that does not fit is cut at the deadline so the app keeps its shutdown time', async () => {
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '60', DRAINER_APP_SHUTDOWN_SECONDS: '20', DRAINER_MARGIN_SECONDS: '2' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).cacheDelayMs = 30 * SECOND;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('cut_short');
    expect(report.durationMs).toBeLessThanOrEqual(38 * SECOND);
    expect(report.problems[0]).toContain('does not fit');
  });

  test('50 concurrent /prestop calls join one drain and get the same report', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const calls = Array.from({ length: 50 }, () => f.controller.prestop());
    const reports = await f.clock.run(Promise.all(calls));
    expect(new Set(reports).size).toBe(1);
    expect(f.eureka.count('put_status')).toBe(2);
    const later = await f.controller.prestop();
    expect(later).toBe(reports[0]);
  });

  test('the app heartbeating UP during the drain does not undo the override', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(2 * SECOND);
    f.eureka.heartbeat(INSTANCE_ID);
    const report = await f.clock.run(drain);
    expect(report.outcome).toBe('verified');
    expect((await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID))?.status).toBe('OUT_OF_SERVICE');
  });

  test('adaptive tail ends as soon as the app reports no request in flight', async () => {
    let inFlight = 3;
    const f = controllerFixture(
      { DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus', DRAINER_TAIL_SECONDS: '30' },
      { inFlight: () => ({ ok: true, value: inFlight }) },
    );
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(70 * SECOND); // the client window (65 s) is over, the tail runs
    inFlight = 0;
    const report = await f.clock.run(drain);
    expect(report.actual.tailEndedBy).toBe('idle');
    expect(report.actual.tailMs!).toBeLessThan(30 * SECOND);
  });

  test('adaptive tail falls back to the fixed tail when the metric cannot be read', async () => {
    const f = controllerFixture(
      { DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus', DRAINER_TAIL_SECONDS: '30' },
      { inFlight: () => ({ ok: false, reason: 'HTTP 404 from the metrics URL' }) },
    );
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(report.actual.tailEndedBy).toBe('metric_unreadable');
    expect(report.actual.tailMs!).toBeGreaterThanOrEqual(30 * SECOND);
  });

  test('abort before the app was told to exit puts the instance back in service', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(5 * SECOND);
    const result = await f.controller.abort();
    const report = await drain;
    expect(result.aborted).toBe(true);
    expect(report.outcome).toBe('aborted');
    expect(f.eureka.count('remove_status')).toBe(2);
    expect(f.app.exits).toBe(0);
    expect(f.controller.currentPhase).toBe('idle'); // exactly as ready as a fresh drainer
  });

  test('after the app is gone, a leftover registration is deleted on every server', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    await f.clock.run(f.controller.prestop());
    f.app.port = 'closed'; // killed without cancelling: no heartbeats, registration left behind
    const ok = await f.clock.run(f.controller.settled());
    expect(ok).toBe(true);
    // Deleted on both, then both checked again once a late replication would have landed (404 twice).
    const cancels = f.eureka.calls.filter((c) => c.op === 'cancel');
    expect(cancels).toHaveLength(4);
    expect(cancels[2]!.at - cancels[1]!.at).toBeGreaterThanOrEqual(REPLICATION_SETTLE_MS);
    expect(await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID)).toBeNull();
    expect(f.controller.currentPhase).toBe('done');
  });

  test('never deletes while the app still heartbeats', async () => {
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '200' });
    f.eureka.register({ instanceId: INSTANCE_ID, renewalIntervalInSecs: 1 });
    await f.clock.run(f.controller.prestop());
    // The port is closed but the lease keeps renewing (the app is still shutting down).
    f.app.port = 'closed';
    const settled = f.controller.settled();
    for (let i = 0; i < 20; i++) {
      f.eureka.heartbeat(INSTANCE_ID);
      await f.clock.advance(500);
    }
    expect(f.eureka.count('cancel')).toBe(0);
    f.eureka.appCancelled(INSTANCE_ID); // the app's own DELETE at the end of its shutdown
    await f.clock.run(settled);
    expect(f.eureka.count('cancel')).toBe(4); // answered 404 twice on each server (the check after the settle): nothing left
    expect(f.controller.snapshot().servers).toEqual(expect.arrayContaining([expect.objectContaining({ cleanup: 'absent' })]));
  });

  test('a container restart after the drain (no SIGTERM): the override is removed and the next preStop drains again', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = await f.clock.run(f.controller.prestop());
    f.app.port = 'closed'; // the kubelet killed the app after the hook...
    f.eureka.heartbeat(INSTANCE_ID);
    await f.clock.advance(600);
    f.app.port = 'open'; // ...and restarted it; the new process inherits the override
    await f.clock.advance(2_000);
    expect(f.eureka.count('remove_status')).toBe(2);
    expect(f.eureka.count('cancel')).toBe(0);
    expect(f.controller.currentPhase).toBe('idle');
    const second = await f.clock.run(f.controller.prestop());
    expect(second).not.toBe(first);
    expect(second.outcome).toBe('verified');
  });

  test('after a clean-up with no SIGTERM, the app listening again returns the drainer to idle', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    await f.clock.run(f.controller.prestop());
    f.app.port = 'closed';
    await f.clock.run(f.controller.settled());
    expect(f.controller.currentPhase).toBe('done');
    f.app.port = 'open';
    await f.clock.advance(5_000);
    expect(f.controller.currentPhase).toBe('idle');
  });

  test('after SIGTERM the drainer never returns to idle', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    void f.controller.terminate();
    await f.clock.run(f.controller.prestop());
    f.app.port = 'closed';
    await f.clock.run(f.controller.settled());
    f.app.port = 'open';
    await f.clock.advance(5_000);
    expect(f.controller.currentPhase).toBe('done');
  });

  test('at startup, a stale OUT_OF_SERVICE override on our instance is removed once the app listens', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID, status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    f.app.port = 'closed';
    const check = f.controller.clearStaleOverride(60_000, 5_000);
    await f.clock.advance(12_000);
    expect(f.eureka.count('remove_status')).toBe(0); // the app is not up yet
    f.app.port = 'open';
    expect(await f.clock.run(check)).toBe('cleared');
    expect(f.eureka.count('remove_status')).toBe(2);
  });

  test('at startup, an instance without an override is left alone', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    expect(await f.clock.run(f.controller.clearStaleOverride(60_000, 5_000))).toBe('none');
    expect(f.eureka.count('remove_status')).toBe(0);
  });

  test('one log line per phase change and one summary line', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    await f.clock.run(f.controller.prestop());
    const phases = f.lines.filter((l) => l.msg === 'drain phase changed').map((l) => l.to);
    expect(phases).toEqual(['locating', 'taking_out', 'verifying', 'waiting_clients', 'waiting_tail', 'exiting_app', 'drained']);
    const summary = f.lines.filter((l) => l.msg === 'drain finished');
    expect(summary).toHaveLength(1);
    expect(summary[0]!.report).toMatchObject({ outcome: 'verified', plan: { drainMs: f.plan.drainMs } });
  });
});

describe('a step that throws (a bug)', () => {
  test('costs nothing but the evidence: /prestop answers with what is known, never better than it was, and the app is watched', async () => {
    const broken = { ...companionMode, begin: async (): Promise<void> => Promise.reject(new Error('boom')) };
    const f = controllerFixture({ DRAINER_INSTANCE_ID: INSTANCE_ID }, { mode: broken });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('not_taken_out');
    expect(report.problems).toContainEqual(expect.stringMatching(/^internal error: .*boom/));
    expect(report.phases).toHaveProperty('drained');
    expect(f.controller.currentPhase).toBe('drained');
    expect(f.lines.find((l) => l.msg === 'drain failed unexpectedly; answering with what is known')).toMatchObject({ level: 'error' });
    f.app.port = 'closed';
    f.eureka.appCancelled(INSTANCE_ID);
    await f.clock.advance(10 * SECOND);
    expect(['cleaning_up', 'done']).toContain(f.controller.currentPhase);
  });
});
