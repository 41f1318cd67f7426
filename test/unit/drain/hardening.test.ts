/**
 * Issue 7: no path through aborts, restarts, slow or lying servers may cost a
 * drain or overrun the deadline. One test (or table) per numbered item; each
 * failed on the code before the lifecycle decider and the step files.
 */
import { expect } from '@jest/globals';
import type { EurekaInstance } from '../../../src/eureka/codec';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;
/** Scaled timings that fit a small grace period: 1 s cache, 1 s fetch, 1 s LB, 1 s tail. */
const FAST = {
  EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '1000',
  EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1',
  SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '1s',
  DRAINER_TAIL_SECONDS: '1',
  DRAINER_APP_SHUTDOWN_SECONDS: '5',
  DRAINER_MARGIN_SECONDS: '2',
  DRAINER_GRACE_PERIOD_SECONDS: '20',
};

async function liveStatus(f: ReturnType<typeof controllerFixture>, i: number): Promise<string | undefined> {
  const live = await f.eureka.getInstance(f.servers[i]!, 'DEMO', INSTANCE_ID);
  return live === null ? undefined : `${live.status}/${live.overriddenStatus}`;
}

function putTimes(f: ReturnType<typeof controllerFixture>, i: number): number[] {
  return f.eureka.calls.filter((c) => c.op === 'put_status' && c.server === f.servers[i]!.label).map((c) => c.at);
}

describe('A. lifecycle', () => {
  test('A1: abort, then the pod terminates (SIGTERM first, then /prestop): a full fresh drain, exit 0', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = f.controller.prestop();
    await f.clock.advance(5 * SECOND);
    expect((await f.controller.abort()).aborted).toBe(true);
    expect((await first).outcome).toBe('aborted');
    expect(await liveStatus(f, 0)).toBe('UP/UNKNOWN');

    const exit = f.controller.terminate();
    await f.clock.advance(300);
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(report).not.toBe(await first);
    expect(report.durationMs).toBeGreaterThanOrEqual(65 * SECOND);
    expect(f.eureka.count('put_status')).toBe(4);
    f.app.port = 'closed';
    f.eureka.appCancelled(INSTANCE_ID);
    expect(await f.clock.run(exit)).toBe(0);
  });

  test('A2: abort, then /prestop later than the drain budget: its deadline counts from the new call', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = f.controller.prestop();
    await f.clock.advance(2 * SECOND);
    await f.controller.abort();
    await first;
    await f.clock.advance(400 * SECOND); // far past the first drain's budget
    const report = await f.clock.run(f.controller.prestop());
    expect(report.outcome).toBe('verified');
    expect(f.eureka.count('put_status')).toBe(4);
  });

  test('A2: abort, then SIGTERM much later: the drainer waits for /prestop like a fresh one', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = f.controller.prestop();
    await f.clock.advance(2 * SECOND);
    await f.controller.abort();
    await first;
    await f.clock.advance(400 * SECOND);
    let code: number | undefined;
    void f.controller.terminate().then((c) => (code = c));
    await f.clock.advance(2 * SECOND);
    expect(code).toBeUndefined(); // not "exit 1 after 17 ms"
    const drain = f.controller.prestop();
    const report = await f.clock.run(drain);
    expect(report.outcome).toBe('verified');
  });

  test('A3: abort while a PUT is in flight: the slow PUT lands first, then the override is removed everywhere', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.eureka.model(f.servers[1]!.label).latency = { put_status: 3 * SECOND };
    const drain = f.controller.prestop();
    await f.clock.advance(1 * SECOND);
    const abort = f.controller.abort();
    const result = await f.clock.run(abort);
    expect(result.aborted).toBe(true);
    await f.clock.run(drain);
    await f.clock.advance(10 * SECOND);
    expect(await liveStatus(f, 0)).toBe('UP/UNKNOWN');
    expect(await liveStatus(f, 1)).toBe('UP/UNKNOWN');
    expect(f.controller.currentPhase).toBe('idle');
  });

  test('A3: after an abort, an override that lands again by a late replication is removed again', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(3 * SECOND);
    await f.clock.run(f.controller.abort());
    await drain;
    await f.clock.advance(2 * SECOND);
    await f.eureka.setStatusOverride(f.servers[1]!, 'DEMO', INSTANCE_ID, 'OUT_OF_SERVICE'); // a peer's retried replication of our first PUT
    await f.clock.advance(3 * SECOND);
    expect(await liveStatus(f, 1)).toBe('UP/UNKNOWN');
    expect(f.lines.some((l) => l.msg === 'an OUT_OF_SERVICE override came back after the instance was put back (a late replication); removed it again')).toBe(true);
    // A new drain is not fought: its override stays.
    const second = f.controller.prestop();
    await f.clock.advance(5 * SECOND);
    expect(await liveStatus(f, 1)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    await f.clock.run(second);
  });

  test('A4: a container restart faster than the port probe: the new registration (UP, no override) returns the drainer to idle', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = await f.clock.run(f.controller.prestop());
    await f.clock.advance(3 * SECOND);
    // The app exited and listened again between two probes: the port is never seen closed.
    // Its shutdown cancelled the lease (dropping the override); the new process registered UP.
    f.eureka.reRegister(INSTANCE_ID);
    await f.clock.advance(2 * SECOND);
    expect(f.controller.currentPhase).toBe('idle');
    const second = await f.clock.run(f.controller.prestop());
    expect(second).not.toBe(first);
    expect(second.outcome).toBe('verified');
  });

  test('A4: a peer re-creating our entry (newer registration, override kept) is not a restart', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const first = await f.clock.run(f.controller.prestop());
    await f.clock.advance(3 * SECOND);
    const m = f.eureka.model(f.servers[1]!.label);
    const cur = m.instances.get(INSTANCE_ID)!;
    m.instances.set(INSTANCE_ID, { ...cur, registrationTimestamp: f.clock.now() });
    await f.clock.advance(5 * SECOND);
    expect(f.controller.currentPhase).toBe('drained');
    expect(await liveStatus(f, 1)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(await f.controller.prestop()).toBe(first);
  });

  test('A5: /prestop after the SIGTERM wait expired: a real drain, /drain shows it, abort works', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    void f.controller.terminate();
    await f.clock.advance(6 * SECOND); // past DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS (5 s)
    const drain = f.controller.prestop();
    await f.clock.advance(31 * SECOND); // past the proof read (one 30 s interval + 500 ms after the PUT)
    const snap = f.controller.snapshot();
    expect(snap.phase).toBe('waiting_clients');
    expect(Object.keys(snap.phases as object)).toEqual(expect.arrayContaining(['locating', 'taking_out', 'verifying', 'waiting_clients']));
    expect((await f.controller.abort()).aborted).toBe(true);
    expect((await drain).outcome).toBe('aborted');
  });
});

describe('B. timing', () => {
  test('B6: a PUT refused for 3.5 s then accepted counts from its acceptance, not from the drain start', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const late = f.eureka.model(f.servers[1]!.label);
    late.refuseUntil = { put_status: f.clock.now() + 3_500 };
    late.deltaFilter = (list) => list.map((i) => ({ ...i, status: 'UP' })); // its cached view never proves anything: worst case
    const report = await f.clock.run(f.controller.prestop());
    const accepted = putTimes(f, 1).find((t) => t >= f.clock.now() - report.durationMs + 3_500)!;
    const start = Date.parse(report.startedAt);
    expect(accepted - start).toBeGreaterThanOrEqual(3_500);
    // 30 s cache from the accepted PUT, then 30 s fetch + 35 s LB + 10 s tail.
    expect(report.durationMs).toBeGreaterThanOrEqual(accepted - start + 30 * SECOND + 65 * SECOND + 10 * SECOND);
    expect(report.servers[1]).toMatchObject({ put: 'ok', verified: false });
  });

  test('B7: a slow callers\' view read does not hold up the PUT', async () => {
    const f = controllerFixture({ DRAINER_INSTANCE_ID: INSTANCE_ID });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).latency = { get_delta: 1_500 };
    const drain = f.controller.prestop();
    await f.clock.advance(400);
    expect(putTimes(f, 0)[0]).toBeDefined();
    expect(putTimes(f, 1)[0]).toBeDefined();
    expect(await liveStatus(f, 0)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    await f.clock.run(drain);
  });

  test('B7: a hanging callers\' view: the instance is still taken out on every server, counted at its worst case', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).hangOps.add('get_delta');
    const report = await f.clock.run(f.controller.prestop());
    expect(f.eureka.count('put_status')).toBe(2);
    expect(report.servers.map((s) => s.put)).toEqual(['ok', 'ok']);
    expect(report.outcome).toBe('unverified');
    expect(await liveStatus(f, 0)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(await liveStatus(f, 1)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
  });

  test('B8: a slow app-exit call is cut at the deadline and the outcome says so', async () => {
    const f = controllerFixture(
      { ...FAST, DRAINER_APP_EXIT: 'http', DRAINER_APP_EXIT_URL: 'http://127.0.0.1:8080/actuator/shutdown' },
      {
        appExit: async (signal) => {
          await f.clock.sleep(60 * SECOND, signal).catch(() => undefined);
          return { strategy: 'http', ok: true, detail: 'late' };
        },
      },
    );
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(Date.parse(report.answeredAt)).toBeLessThanOrEqual(Date.parse(report.deadlineAt));
    expect(report.outcome).toBe('cut_short');
    expect(report.appExit).toMatchObject({ ok: false, detail: expect.stringContaining('no answer before the deadline') });
  });

  test('B8: a hanging adaptive-tail metrics read never overruns the tail or the deadline', async () => {
    const f = controllerFixture(
      { ...FAST, DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus', DRAINER_TAIL_SECONDS: '3' },
      { readInFlight: (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })) },
    );
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(report.actual.tailEndedBy).toBe('metric_unreadable');
    expect(report.actual.tailMs!).toBeLessThanOrEqual(3 * SECOND + 100);
    expect(Date.parse(report.answeredAt)).toBeLessThanOrEqual(Date.parse(report.deadlineAt));
  });

  test.each<[string, (i: EurekaInstance[]) => EurekaInstance[]]>([
    ['an entry with no status', (list) => list.map((i) => ({ ...i, status: '' }))],
    ['status "up" in lower case', (list) => list.map((i) => ({ ...i, status: 'up' }))],
    ['status "out_of_service" in lower case', (list) => list.map((i) => ({ ...i, status: 'out_of_service' }))],
    ['another app with our instance id, out of service', (list) => list.map((i) => ({ ...i, app: 'OTHER', status: 'OUT_OF_SERVICE' }))],
  ])('B9: false evidence is not proof: %s', async (_name, filter) => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    for (const s of f.servers) f.eureka.model(s.label).deltaFilter = filter;
    const report = await f.clock.run(f.controller.prestop());
    expect(report.servers.map((s) => s.verified)).toEqual([false, false]);
    // Not out at the second proof read either: counted as a key held by the cache race, until its 180 s expiry,
    // which runs past the drain's deadline.
    expect(report.outcome).toBe('cut_short');
    expect(report.servers.every((s) => /cache race/.test(s.error ?? ''))).toBe(true);
    expect(report.durationMs).toBeGreaterThanOrEqual(30 * SECOND + 65 * SECOND + 10 * SECOND);
  });

  test('B10: an app config refresh mid-drain (cancel + UP re-registration) is undone at once and the wait restarts', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(40 * SECOND); // in the client window
    const refreshAt = f.clock.now();
    f.eureka.reRegister(INSTANCE_ID);
    await f.clock.advance(2_300); // within one keep-out poll (30/16 s ± 20 %)
    expect(await liveStatus(f, 0)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(await liveStatus(f, 1)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    const report = await f.clock.run(drain);
    expect(report.servers.map((s) => s.restored)).toEqual([1, 1]);
    expect(report.outcome).toBe('unverified'); // what was proven before the refresh proves nothing now
    const start = Date.parse(report.startedAt);
    expect(report.durationMs).toBeGreaterThanOrEqual(refreshAt - start + 30 * SECOND + 65 * SECOND + 10 * SECOND);
    const metrics = await f.registry.metrics();
    expect(metrics).toMatch(/eureka_drainer_override_restored_total\{server="[^"]+"\} 1/);
    expect(f.lines.some((l) => l.msg === 'our OUT_OF_SERVICE override had vanished; put it back and restarted the wait for this server')).toBe(true);
  });

  test('B10: anyone\'s DELETE …/status during the tail is undone too', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const drain = f.controller.prestop();
    await f.clock.advance(83 * SECOND); // the tail (client window ends at 80 s: the early proof read at 15 s + 65 s)
    expect(f.controller.currentPhase).toBe('waiting_tail');
    await f.eureka.removeStatusOverride(f.servers[0]!, 'DEMO', INSTANCE_ID);
    const report = await f.clock.run(drain);
    expect(report.servers[0]!.restored).toBe(1);
    expect(report.servers[1]!.restored).toBe(0);
    expect(await liveStatus(f, 0)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(report.durationMs).toBeGreaterThanOrEqual(83 * SECOND + 30 * SECOND + 65 * SECOND);
  });

  test('B11: a 3 s grace period (budget 0) still takes the instance out on every server', async () => {
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '3', DRAINER_APP_SHUTDOWN_SECONDS: '1', DRAINER_MARGIN_SECONDS: '2' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const report = await f.clock.run(f.controller.prestop());
    expect(f.eureka.count('put_status')).toBe(2);
    expect(await liveStatus(f, 0)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(await liveStatus(f, 1)).toBe('OUT_OF_SERVICE/OUT_OF_SERVICE');
    expect(report.outcome).toBe('cut_short');
    expect(report.durationMs).toBeLessThanOrEqual(2 * SECOND);
  });
});

describe('D. exit codes that mean something', () => {
  test('one Eureka server down at clean-up: logged and counted, exit 0', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const exit = f.controller.terminate();
    await f.clock.run(f.controller.prestop());
    f.eureka.model(f.servers[1]!.label).down = true;
    f.app.port = 'closed';
    await f.clock.advance(200 * SECOND); // the lease stops renewing
    expect(await f.clock.run(exit)).toBe(0);
    expect(f.controller.snapshot().servers).toEqual([expect.objectContaining({ cleanup: 'deleted' }), expect.objectContaining({ cleanup: 'unreachable' })]);
    expect(await f.registry.metrics()).toContain('eureka_drainer_cleanup_deletes_total{result="unreachable"} 1');
  });

  test('a reachable server that refuses the clean-up DELETE: exit 1', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const exit = f.controller.terminate();
    await f.clock.run(f.controller.prestop());
    f.eureka.model(f.servers[1]!.label).refuseUntil = { cancel: Number.POSITIVE_INFINITY };
    f.app.port = 'closed';
    expect(await f.clock.run(exit)).toBe(1);
  });
});

describe('the drainer container\'s own preStop (/prestop/join)', () => {
  test('alone (a restart of the drainer container): answers after the wait, nothing changes in Eureka, SIGTERM exits 0 at once', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const answer = await f.clock.run(f.controller.join());
    expect(answer).toMatchObject({ joined: false });
    const exit = f.controller.terminate();
    expect(await f.clock.run(exit)).toBe(0);
    expect(f.eureka.count('put_status') + f.eureka.count('cancel') + f.eureka.count('remove_status')).toBe(0);
  });

  test('beside the app\'s hook (a pod termination): joins the drain and answers with its report', async () => {
    const f = controllerFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const join = f.controller.join();
    await f.clock.advance(300);
    const drain = f.controller.prestop();
    const [joined, report] = await f.clock.run(Promise.all([join, drain]));
    expect(joined).toBe(report);
    expect(report.outcome).toBe('verified');
  });
});

describe('issue 13 C8: Kubernetes shortens the grace period', () => {
  test('learned mid-drain: the waits are cut so the app keeps its shutdown time, and the process deadline moves', async () => {
    const f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_GRACE_PERIOD_SECONDS: '300' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    let code: number | undefined;
    void f.controller.terminate().then((c) => (code = c));
    const drain = f.controller.prestop();
    await f.clock.advance(10 * SECOND);
    const graceEndsAt = f.clock.now() + 45 * SECOND; // e.g. kubectl delete --grace-period=55 issued at the start
    f.controller.learnGraceEnd(graceEndsAt, 'test');
    const report = await f.clock.run(drain);
    expect(report.outcome).toBe('cut_short');
    // The app keeps its 30 s shutdown and the 2 s margin.
    expect(Date.parse(report.answeredAt)).toBeLessThanOrEqual(graceEndsAt - 32 * SECOND + 2 * SECOND);
    expect(report.problems.join('\n')).toContain('earlier than DRAINER_GRACE_PERIOD_SECONDS');
    expect(f.controller.exitDeadline()).toBe(graceEndsAt - 1_000);
    await f.clock.advance(60 * SECOND); // the app never goes: the shortened deadline ends the process
    expect(code).toBe(1); // our override may be left on the still-running app: lease expiry or the next start removes it
    expect(await f.registry.metrics()).toContain('eureka_drainer_grace_period_shortened_total 1');
  });

  test('a later, longer deadline changes nothing', async () => {
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '60' });
    void f.controller.terminate();
    const before = f.controller.exitDeadline();
    f.controller.learnGraceEnd(f.clock.now() + 600 * SECOND, 'test');
    expect(f.controller.exitDeadline()).toBe(before);
  });
});
