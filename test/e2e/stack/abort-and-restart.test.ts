/**
 * Lifecycle paths on the real stack (issue 7 A1, A4, B10), each under 100 req/s through the gateway, with the
 * classic pod of k8s/classic-sidecar.yaml:
 *
 * - A1 abort, then terminate: /prestop, POST /drain/abort mid-drain (the instance is back UP on both servers
 *   with no override, the gateway routes to it again), then the pod terminates (the drainer's SIGTERM first,
 *   then the kubelet's hooks): a full fresh drain, no failed request, exit 0.
 * - A4 app container restart: the kubelet restarts the app container alone (a failed liveness probe runs its
 *   preStop: a full drain; SIGTERM; a new JVM on the same port, so the same instance id); the drainer gets no
 *   SIGTERM, cleans up, sees the app back and returns to idle; the instance is UP on both servers with no
 *   override; then the pod terminates and drains fully.
 * - B10 config refresh mid-drain: during the client window the app's `/actuator/refresh` makes Spring Cloud
 *   stop and restart its Eureka client (`eureka.client.refresh.enable`, default true): the cancel drops our
 *   override, the new registration is UP. The drainer must put the override back within about a second and
 *   wait a full window from then.
 *
 * One stack for the file: the Eureka pair, two demo instances, the gateway; replacements are added as needed.
 */
import { restartContainer, timeline } from './kubelet';
import { failureSummary } from './load';
import { between, drainState, isBack, isOut, logsOf, metricValue, offered, prestopNow, abortDrain, readMetrics, transitions, watchLive, watchMetrics } from './observe';
import { describeRollOut, expectShippedOrder, prestopHook, rollOut, stackForFile, type PrestopReport } from './scenario';
import { pollUntil, type DemoInstance } from './stack';
import type { DrainReport } from '../../../src/drain/report';

/** The whole report (scenario.ts types only the fields the roll-out scenarios read). */
const full = (r: PrestopReport): DrainReport => r as unknown as DrainReport;

jest.setTimeout(240_000);

const RATE = 100;
const suite = stackForFile({ demos: 2, manifest: 'k8s/classic-sidecar.yaml' });

afterEach(() => suite.stopLoads());

const live = (s: ReturnType<typeof suite.stack>) => (id: string) => s.liveOnBoth(id).then(([a, b]) => [a && `${a.status}/${a.overriddenStatus}`, b && `${b.status}/${b.overriddenStatus}`]);

test('A1: /prestop, abort mid-drain (back UP on both servers, traffic returns), then the pod terminates (drainer SIGTERM first): a full fresh drain, no failed request, exit 0', async () => {
  const s = suite.stack();
  const [target, other] = s.instances as [DemoInstance, DemoInstance];
  const load = suite.startLoad(RATE, 120);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);
  const metrics = watchMetrics(target);
  const watch = watchLive(s, target.instanceId);
  const t0 = Date.now();

  // The first drain: /prestop as the app's hook sends it; abort once it is in the client window.
  const first = prestopNow(target, s);
  await pollUntil('the drain in its client window', async () => ((await drainState(target)).phase === 'waiting_clients' ? true : undefined), 10_000, 50);
  const outAt = Date.now();
  expect((await live(s)(target.instanceId))).toEqual(['OUT_OF_SERVICE/OUT_OF_SERVICE', 'OUT_OF_SERVICE/OUT_OF_SERVICE']);
  const abortAt = Date.now();
  const abort = await abortDrain(target, s);
  const abortAnsweredAt = Date.now();
  const logsAtAbort = target.drainer!.logs.length;
  const putsAtAbort = metricValue(await readMetrics(target), 'eureka_requests_total', { operation: 'put_status' });
  const firstAnswer = await first;
  const aborted = JSON.parse(firstAnswer.body) as PrestopReport;
  expect(abort.status).toBe(200);
  expect(abort.body).toMatchObject({ aborted: true });
  expect(firstAnswer.status).toBe(200);
  expect(aborted.outcome).toBe('aborted');
  expect((await drainState(target)).phase).toBe('idle');

  // Back in service on both servers with no override (the app's next heartbeat re-registers it UP), and the
  // gateway routes to it again.
  await pollUntil('UP/UNKNOWN on both servers', async () => ((await s.liveOnBoth(target.instanceId)).every((v) => v !== null && isBack(`${v.status}/${v.overriddenStatus}`)) ? true : undefined), 10_000, 50);
  const backAt = Date.now();
  const servedAtAbort = load.stats(target.instanceId)!.served;
  await load.waitForServed(target.instanceId, 20, 20_000);
  const trafficBackAt = Date.now();
  const servedAgain = load.stats(target.instanceId)!.served - servedAtAbort;

  const putsBeforeTermination = metricValue(await readMetrics(target), 'eureka_requests_total', { operation: 'put_status' });
  const logsWhileIdle = target.drainer!.logs.slice(logsAtAbort).map((l) => `${String(l.msg)}${l.server ? ` ${l.server as string}` : ''}`);

  // The pod terminates: the classic sidecar's SIGTERM wins the race, then the kubelet runs both hooks.
  const sigtermAt = Date.now();
  target.drainer!.kill('SIGTERM');
  const roll = await rollOut(target, { stack: s });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const samples = await watch.stop();
  const lastMetrics = await metrics.stop();
  process.stdout.write(
    `A1 abort then terminate: out on both at +${outAt - t0} ms, abort +${abortAt - t0} → answered +${abortAnsweredAt - t0} (${JSON.stringify(abort.body)}), ` +
      `first drain ${aborted.outcome} after ${aborted.durationMs} ms; UP/UNKNOWN on both +${backAt - abortAnsweredAt} ms after the abort answered, ` +
      `${servedAgain} requests served by it again within +${trafficBackAt - abortAnsweredAt} ms; drainer SIGTERM +${sigtermAt - t0}; ` +
      `put_status requests ${putsAtAbort} at the abort answer, ${putsBeforeTermination} before the termination; drainer log while idle ${JSON.stringify(logsWhileIdle)}\n` +
      describeRollOut('A1 second drain', target, roll, load) +
      `  load ${result.sent} sent, ${result.failed} failed; live views ${JSON.stringify(transitions(samples, t0))}\n`,
  );

  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  // A fresh drain, not the aborted report again: it started after the SIGTERM and waited its plan.
  const { report, record } = roll;
  expect(report.outcome).toBe('verified');
  expect(Date.parse(full(report).startedAt)).toBeGreaterThanOrEqual(sigtermAt);
  expect(report.durationMs).toBeGreaterThan(report.plan.selectMs - 1_000);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);
  expect(record.killed).toEqual([]);
  expectShippedOrder(roll);
  expect(record.app.exitCode).toBe(143);
  expect(record.drainer!.exitCode).toBe(0);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  // Metrics before the drainer exited: one aborted drain, one verified.
  expect(metricValue(lastMetrics, 'drains_total', { outcome: 'aborted' })).toBe(1);
  expect(metricValue(lastMetrics, 'drains_total', { outcome: 'verified' })).toBe(1);
  // Never OUT_OF_SERVICE between "back" and the second drain's start; never UP during the second drain's waits.
  const backSamples = between(samples, backAt, sigtermAt);
  if (backSamples.some((x) => !isBack(x.a) || !isBack(x.b))) {
    // What the servers logged (replication retries, peer timeouts) when the override came back while idle.
    process.stdout.write(`  override back while idle; eureka-A: ${s.eurekaA.output().split('\n').slice(-15).join(' ⏎ ')}\n  eureka-B: ${s.eurekaB.output().split('\n').slice(-15).join(' ⏎ ')}\n`);
  }
  expect(backSamples.filter((x) => !isBack(x.a) || !isBack(x.b))).toEqual([]);
  const secondStart = Date.parse(full(report).startedAt);
  const secondOut = report.servers.reduce((t, x) => Math.max(t, secondStart + (x.liveVerifiedMs ?? 0)), secondStart);
  expect(between(samples, secondOut + 200, record.appSigtermAt!).filter((x) => offered(x.a) || offered(x.b))).toEqual([]);
  // The clean-up (in the log: a terminating drainer closes /metrics in the same tick).
  const done = logsOf(target, 'drain phase changed').find((l) => l.to === 'done');
  process.stdout.write(`  clean-up: ${JSON.stringify(done?.servers)}\n`);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});

test('A4: the app container restarts (liveness) after a drain: the drainer returns to idle, the instance is UP with no override on both servers; the pod termination then drains fully', async () => {
  const s = suite.stack();
  const old = s.instances[1]!;
  const replacement = await s.addInstance();
  const load = suite.startLoad(RATE, 150);
  await load.waitForServed(old.instanceId, 20);
  await load.waitForServed(replacement.instanceId, 20);
  const watch = watchLive(s, old.instanceId);
  const t0 = Date.now();

  // R8: the kubelet kills the app container alone: its preStop (the drain), SIGTERM, exit. The drainer gets nothing.
  const pod = old.pod!;
  const restart = await restartContainer({
    name: pod.app.name,
    process: { signal: (sig) => old.app.signal(sig), exit: old.app.waitForExit(), hasExited: () => old.app.exited },
    preStop: prestopHook(old, s),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    podIp: old.podIp,
  });
  const drain = JSON.parse(restart.hook!.body!) as PrestopReport;
  expect(restart.exitCode).toBe(143);
  // …and starts the new app container: a new JVM on the same port, the same instance id.
  const target = await s.restartApp(old);
  const upAt = Date.now();
  expect(target.instanceId).toBe(old.instanceId);
  await pollUntil('the drainer back to idle', async () => ((await drainState(target)).phase === 'idle' ? true : undefined), 30_000, 100);
  const idleAt = Date.now();
  await pollUntil('UP/UNKNOWN on both servers', async () => ((await s.liveOnBoth(target.instanceId)).every((v) => v !== null && isBack(`${v.status}/${v.overriddenStatus}`)) ? true : undefined), 15_000, 100);
  const backAt = Date.now();
  const afterRestart = await readMetrics(target);
  await load.waitForServed(target.instanceId, 20, 30_000);
  const routedAt = Date.now();
  const state = await drainState(target);
  process.stdout.write(
    `A4 app restart: drain ${drain.outcome} ${drain.durationMs} ms; app SIGTERM +${restart.sigtermAt! - t0}, exited +${restart.exitedAt! - t0} (${restart.exitCode}); ` +
      `new JVM healthy +${upAt - t0}; drainer idle +${idleAt - t0}; UP/UNKNOWN on both +${backAt - t0}; routed again +${routedAt - t0}; ` +
      `metrics drains{verified}=${metricValue(afterRestart, 'drains_total', { outcome: 'verified' })} cleanup ${JSON.stringify(['deleted', 'absent', 'unreachable', 'failed'].map((r) => [r, metricValue(afterRestart, 'cleanup_deletes_total', { result: r })]))}\n`,
  );
  expect(drain.outcome).toBe('verified');
  expect(state).toMatchObject({ phase: 'idle', terminating: false, report: null });
  expect(metricValue(afterRestart, 'drains_total', { outcome: 'verified' })).toBe(1);
  // The clean-up ran while the app was away (both servers answered: deleted or already absent).
  expect(metricValue(afterRestart, 'cleanup_deletes_total', { result: 'deleted' }) + metricValue(afterRestart, 'cleanup_deletes_total', { result: 'absent' })).toBe(2);
  expect(metricValue(afterRestart, 'cleanup_deletes_total', { result: 'failed' })).toBe(0);

  // The pod terminates later: a full drain, not the old report.
  const terminatedAt = Date.now();
  const roll = await rollOut(target, { stack: s });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const samples = await watch.stop();
  process.stdout.write(describeRollOut('A4 pod termination after the restart', target, roll, load) + `  load ${result.sent} sent, ${result.failed} failed; live views ${JSON.stringify(transitions(samples, t0))}\n`);
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  expect(roll.report.outcome).toBe('verified');
  expect(Date.parse(full(roll.report).startedAt)).toBeGreaterThanOrEqual(terminatedAt);
  expect(roll.report.durationMs).toBeGreaterThan(roll.report.plan.selectMs - 1_000);
  expect(roll.record.killed).toEqual([]);
  expectShippedOrder(roll);
  expect(roll.record.drainer!.exitCode).toBe(0);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(roll.record.appSigtermAt!);
  // Never OUT_OF_SERVICE once back, until the termination began.
  expect(between(samples, backAt, terminatedAt).filter((x) => !isBack(x.a) || !isBack(x.b))).toEqual([]);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});

test('B10: a config refresh in the app mid-drain (its Eureka client cancels and re-registers UP): the override is back on both servers within ~1 s, a full window is waited from then, no failed request', async () => {
  const s = suite.stack();
  const target = s.instances.find((i) => !i.app.exited && i.drainer && s.instances.indexOf(i) >= 2)!;
  const replacement = await s.addInstance();
  const load = suite.startLoad(RATE, 120);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(replacement.instanceId, 20);
  const metrics = watchMetrics(target);
  const watch = watchLive(s, target.instanceId, 50);

  let refresh: { at: number; answeredAt: number; status: number; body: string } | undefined;
  const refreshInWindow = (async () => {
    await pollUntil('the drain in its client window', async () => ((await drainState(target)).phase === 'waiting_clients' ? true : undefined), 10_000, 50);
    const at = Date.now();
    const response = await fetch(`${target.app.url}/actuator/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(20_000) });
    refresh = { at, answeredAt: Date.now(), status: response.status, body: await response.text() };
  })();
  const roll = await rollOut(target, { stack: s });
  await refreshInWindow;
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const samples = await watch.stop();
  const lastMetrics = await metrics.stop();
  const restores = logsOf(target, 'our OUT_OF_SERVICE override had vanished; put it back and restarted the wait for this server');
  const { report, record } = roll;
  const startedAt = Date.parse(full(report).startedAt);
  const lastRestoreAt = Math.max(...restores.map((l) => Date.parse(String(l.restoredAt))));
  process.stdout.write(
    `B10 refresh mid-drain: refresh POST +${refresh!.at - startedAt} → ${refresh!.status} +${refresh!.answeredAt - startedAt} ms ${refresh!.body.slice(0, 120)}; ` +
      `restores ${JSON.stringify(restores.map((l) => [l.server, l.seen, Date.parse(String(l.restoredAt)) - startedAt]))}; ` +
      `override_restored_total ${metricValue(lastMetrics, 'override_restored_total')}\n` +
      describeRollOut('B10', target, roll, load) +
      `  servers ${JSON.stringify(full(report).servers.map((x) => ({ put: x.put, restored: x.restored, liveMs: x.liveVerifiedMs, cacheMs: x.cacheVerifiedMs, settledMs: x.settledMs })))}; problems ${JSON.stringify(report.problems)}\n` +
      `  load ${result.sent} sent, ${result.failed} failed; live views ${JSON.stringify(transitions(samples, startedAt))}\n`,
  );

  expect(refresh!.status).toBe(200);
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  // The override vanished and was put back, counted in the metric and the report.
  expect(restores.length).toBeGreaterThan(0);
  expect(metricValue(lastMetrics, 'override_restored_total')).toBeGreaterThan(0);
  expect(full(report).servers.reduce((n, x) => n + x.restored, 0)).toBeGreaterThan(0);
  // From the first sample after the refresh that was not out on both servers, OUT_OF_SERVICE again on both
  // within ~1 s, and it stayed out until the app's SIGTERM.
  const afterRefresh = between(samples, refresh!.at, record.appSigtermAt!);
  const firstGap = afterRefresh.find((x) => !isOut(x.a) || !isOut(x.b));
  expect(firstGap).toBeDefined();
  const upSamples = afterRefresh.filter((x) => offered(x.a) || offered(x.b));
  const lastNotOut = [...afterRefresh].reverse().find((x) => !isOut(x.a) || !isOut(x.b))!;
  const outAgain = afterRefresh.find((x) => x.at > lastNotOut.at)!;
  expect(outAgain).toBeDefined();
  expect(outAgain.at - firstGap!.at).toBeLessThan(1_500);
  expect(upSamples.length === 0 || upSamples[upSamples.length - 1]!.at - upSamples[0]!.at < 1_000).toBe(true);
  expect(between(samples, outAgain.at, record.appSigtermAt!).every((x) => isOut(x.a) && isOut(x.b))).toBe(true);
  // The drain waited at least a full window (fetch + LB) and the tail after the last restore.
  const t = s.timings;
  expect(startedAt + report.durationMs).toBeGreaterThanOrEqual(lastRestoreAt + t.fetchSeconds * 1000 + t.lbTtlMs + t.tailSeconds * 1000);
  expect(report.outcome === 'verified' || report.outcome === 'partly_verified' || report.outcome === 'unverified').toBe(true);
  expect(record.killed).toEqual([]);
  expect(record.drainer!.exitCode).toBe(0);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  process.stdout.write(`  timeline ${JSON.stringify(timeline(record))}\n`);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});
