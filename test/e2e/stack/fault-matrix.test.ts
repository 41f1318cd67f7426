/**
 * Issue 7 E (and D): Eureka server faults on the real pair, under 100 req/s through the gateway, with the classic
 * pod of k8s/classic-sidecar.yaml. One stack for the file; the faults run in order and each leaves the pair as
 * the next one needs it (a stopped server is started again on the same address and port, copying its peer's
 * registry at startup):
 *
 * 1. one server down from the start (and still down at clean-up, issue 7 D): first the app container restarts
 *    (liveness: a drain, the clean-up with the server unreachable — counted in
 *    `cleanup_deletes_total{result="unreachable"}` — and back to idle), then the pod terminates: partly verified,
 *    no failed request, exit 0;
 * 2. one server SIGKILLed in the client window: no failed request, exit 0 with it still down at clean-up;
 * 3. one server SIGKILLed in the client window and started again at once (it syncs from its peer while the drain
 *    waits; this pod's tail is 15 s so the restart lands inside the drain): the instance is never offered UP by
 *    either server while it should be out, no failed request, exit 0;
 * 4. both servers down: nothing can be taken out; /prestop still answers after the full plan (`not_taken_out`);
 *    requests fail once the app stops (the callers' caches still list it) — counted, never before its SIGTERM.
 *
 * Self-preservation on: self-preservation.test.ts (its own pair).
 */
import { restartContainer } from './kubelet';
import { failureSummary, type LoadGenerator, type LoadResult } from './load';
import { between, drainState, isBack, isOut, logsOf, metricValue, offered, readMetrics, transitions, watchLive, watchMetrics, type LiveSample } from './observe';
import { describeRollOut, expectShippedOrder, prestopHook, rollOut, stackForFile, type PrestopReport, type RollOut } from './scenario';
import { pollUntil, waitRegisteredOn, type DemoInstance, type Stack } from './stack';
import type { DrainReport } from '../../../src/drain/report';

jest.setTimeout(300_000);

const RATE = 100;
/** Room for the 15 s tail of scenario 3 (plan 19 s + app shutdown 10 s + margin 2 s). */
const GRACE_SECONDS = 45;
/** A restarted server copies its peer's registry before it serves (the fixture's default is no startup sync). */
const SYNC_FROM_PEER = ['--eureka.server.registry-sync-retries=5', '--eureka.server.registry-sync-retry-wait-ms=500'];
const suite = stackForFile({ demos: 2, manifest: 'k8s/classic-sidecar.yaml', gracePeriodSeconds: GRACE_SECONDS });

afterEach(() => suite.stopLoads());

const full = (r: PrestopReport): DrainReport => r as unknown as DrainReport;
const alive = (s: Stack): DemoInstance[] => s.instances.filter((i) => !i.app.exited);

interface Observed {
  readonly roll: RollOut;
  readonly result: LoadResult;
  readonly samples: LiveSample[];
  readonly metrics: string;
  /** The clean-up's per-server results, from the drainer's `done` phase line. */
  readonly cleanup: { server: string; cleanup: string }[];
}

/** Rolls `target` out through the kubelet emulator, watching the live views and /metrics; `during` runs alongside. */
async function observedRollOut(s: Stack, target: DemoInstance, load: LoadGenerator, label: string, during?: () => Promise<void>): Promise<Observed> {
  const metrics = watchMetrics(target);
  const watch = watchLive(s, target.instanceId);
  const side = during?.();
  const roll = await rollOut(target, { stack: s });
  await side;
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const samples = await watch.stop();
  const last = await metrics.stop();
  const done = logsOf(target, 'drain phase changed').find((l) => l.to === 'done');
  const cleanup = (done?.servers ?? []) as { server: string; cleanup: string }[];
  const startedAt = Date.parse(full(roll.report).startedAt);
  process.stdout.write(
    describeRollOut(label, target, roll, load) +
      `  servers ${JSON.stringify(full(roll.report).servers.map((x) => ({ put: x.put, verified: x.verified, liveMs: x.liveVerifiedMs, cacheMs: x.cacheVerifiedMs, restored: x.restored, error: x.error })))}; problems ${JSON.stringify(roll.report.problems)}\n` +
      `  clean-up ${JSON.stringify(cleanup)}; drains ${JSON.stringify(['verified', 'partly_verified', 'unverified', 'not_taken_out', 'cut_short'].map((o) => [o, metricValue(last, 'drains_total', { outcome: o })]))}; ` +
      `restored ${metricValue(last, 'override_restored_total')}\n` +
      `  load ${result.sent} sent, ${result.failed} failed ${JSON.stringify(failureSummary(result.failures))}; live views ${JSON.stringify(transitions(samples, startedAt))}\n`,
  );
  return { roll, result, samples, metrics: last, cleanup };
}

function expectNoFailure(result: LoadResult): void {
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
}

/** After the override reached the servers that are up, no server that answered offered the instance UP until the app's SIGTERM. */
function expectNeverOffered(o: Observed, from: number): void {
  const offeredSamples = between(o.samples, from, o.roll.record.appSigtermAt!).filter((x) => offered(x.a) || offered(x.b));
  expect(offeredSamples).toEqual([]);
}

/** Starts again any server of the pair a scenario (or a failed one) left down, and waits until it lists the live instances. */
async function ensurePair(s: Stack): Promise<void> {
  for (const which of ['A', 'B'] as const) {
    const server = which === 'A' ? s.eurekaA : s.eurekaB;
    if (!server.exited) continue;
    await s.restartEureka(which, SYNC_FROM_PEER);
    await waitRegisteredOn([which === 'A' ? s.eurekaA : s.eurekaB], alive(s)[0]!.instanceId);
  }
}

async function startLoadOn(instances: readonly DemoInstance[]): Promise<LoadGenerator> {
  const load = suite.startLoad(RATE, 150);
  for (const i of instances) await load.waitForServed(i.instanceId, 20, 30_000);
  return load;
}

test('1 + D: one Eureka server down from the start and at clean-up: an app container restart cleans up with it unreachable (counted) and returns to idle; the pod termination then drains partly verified, no failed request, exit 0', async () => {
  const s = suite.stack();
  const [old, other] = s.instances as [DemoInstance, DemoInstance];
  const load = await startLoadOn([old, other]);
  await s.eurekaA.stop();

  // The app container restarts alone (liveness, kubelet R8): a drain, then the clean-up finds A unreachable.
  const restart = await restartContainer({
    name: old.pod!.app.name,
    process: { signal: (sig) => old.app.signal(sig), exit: old.app.waitForExit(), hasExited: () => old.app.exited },
    preStop: prestopHook(old, s),
    terminationGracePeriodSeconds: GRACE_SECONDS,
    podIp: old.podIp,
  });
  const first = JSON.parse(restart.hook!.body!) as PrestopReport;
  await pollUntil('the clean-up after the app exited', async () => (metricValue(await readMetrics(old), 'cleanup_deletes_total') >= 2 ? true : undefined), 20_000, 100);
  const afterCleanup = await readMetrics(old);
  const target = await s.restartApp(old);
  await pollUntil('the drainer back to idle', async () => ((await drainState(target)).phase === 'idle' ? true : undefined), 30_000, 100);
  await pollUntil('UP/UNKNOWN on B', async () => ((await s.liveInstance(s.eurekaB, target.instanceId))?.status === 'UP' ? true : undefined), 15_000, 100);
  const b = await s.liveInstance(s.eurekaB, target.instanceId);
  await load.waitForServed(target.instanceId, 20, 30_000);
  process.stdout.write(
    `1 restart with A down: drain ${first.outcome} ${first.durationMs} ms; clean-up ${JSON.stringify(['deleted', 'absent', 'unreachable', 'failed'].map((r) => [r, metricValue(afterCleanup, 'cleanup_deletes_total', { result: r })]))}; ` +
      `after the restart B shows ${b?.status}/${b?.overriddenStatus}\n`,
  );
  expect(first.outcome).toBe('partly_verified');
  expect(metricValue(afterCleanup, 'cleanup_deletes_total', { result: 'unreachable' })).toBe(1);
  expect(metricValue(afterCleanup, 'cleanup_deletes_total', { result: 'failed' })).toBe(0);
  expect(isBack(`${b?.status}/${b?.overriddenStatus}`)).toBe(true);

  // The pod terminates, A still down.
  const o = await observedRollOut(s, target, load, '1 one server down, pod termination');
  expectNoFailure(o.result);
  const { report, record } = o.roll;
  expect(report.outcome).toBe('partly_verified');
  expect(report.servers[0]).toMatchObject({ verified: false });
  expect(report.servers[1]).toMatchObject({ put: 'ok', verified: true });
  // The down server never took the change, so it counts at its worst case from the moment the drainer stopped
  // trying (timing.ts serverSettledAt: the verification cutoff), not from the drain's start: longer than the
  // plan (measured ~7 s against 5 s), never cut short by the deadline.
  expect(report.durationMs).toBeGreaterThanOrEqual(report.plan.drainMs);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainBudgetMs);
  expect(record.killed).toEqual([]);
  expectShippedOrder(o.roll);
  expect(record.app.exitCode).toBe(143);
  // D: nothing of ours is left where a caller can trip over it: exit 0, not 1.
  expect(record.drainer!.exitCode).toBe(0);
  expect(o.cleanup.map((x) => x.cleanup)).toEqual(['unreachable', expect.stringMatching(/^(deleted|absent)$/)]);
  expect(metricValue(o.metrics, 'drains_total', { outcome: 'partly_verified' })).toBe(2);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(between(o.samples, Date.parse(full(report).startedAt) + report.servers[1]!.liveVerifiedMs! + 100, record.appSigtermAt!).filter((x) => offered(x.b))).toEqual([]);
  expect(await s.liveInstance(s.eurekaB, target.instanceId)).toBeNull();

  // A comes back for the next scenario, copying B's registry.
  await ensurePair(s);
  expect(await s.liveInstance(s.eurekaA, target.instanceId)).toBeNull();
});

test('2: one Eureka server SIGKILLed in the client window: no failed request, exit 0 with it down at clean-up', async () => {
  const s = suite.stack();
  await ensurePair(s);
  const [target] = alive(s);
  const replacement = await s.addInstance();
  const load = await startLoadOn([target!, replacement]);
  let killedAt = 0;
  const o = await observedRollOut(s, target!, load, '2 server killed mid-drain', async () => {
    await pollUntil('the client window', async () => ((await drainState(target!)).phase === 'waiting_clients' ? true : undefined), 10_000, 50);
    s.eurekaA.signal('SIGKILL');
    await s.eurekaA.waitForExit(10_000);
    killedAt = Date.now();
  });
  expectNoFailure(o.result);
  const { report, record } = o.roll;
  const startedAt = Date.parse(full(report).startedAt);
  process.stdout.write(`  A killed at +${killedAt - startedAt} ms\n`);
  expect(killedAt).toBeLessThan(record.hookReturnedAt!);
  // Both were proven before A died; what callers read from A until then was the override.
  expect(report.outcome).toBe('verified');
  expect(record.killed).toEqual([]);
  expectShippedOrder(o.roll);
  expect(record.drainer!.exitCode).toBe(0);
  expect(o.cleanup.map((x) => x.cleanup)).toEqual(['unreachable', expect.stringMatching(/^(deleted|absent)$/)]);
  expect(load.stats(target!.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expectNeverOffered(o, startedAt + Math.max(...report.servers.map((x) => x.liveVerifiedMs ?? 0)) + 100);
  expect(await s.liveInstance(s.eurekaB, target!.instanceId)).toBeNull();
  await ensurePair(s);
});

test('3: one Eureka server SIGKILLed mid-drain and started again (syncing from its peer) while the drain waits: never offered UP, no failed request, exit 0', async () => {
  const s = suite.stack();
  await ensurePair(s);
  const [other] = alive(s);
  // This pod's tail is 15 s, so the server's restart (a JVM start) lands inside the drain.
  const target = await s.addInstance({ drainerEnv: { DRAINER_TAIL_SECONDS: '15' } });
  const load = await startLoadOn([target, other!]);
  const times: Record<string, number> = {};
  const o = await observedRollOut(s, target, load, '3 server restarted mid-drain', async () => {
    await pollUntil('the client window', async () => ((await drainState(target)).phase === 'waiting_clients' ? true : undefined), 10_000, 50);
    s.eurekaA.signal('SIGKILL');
    await s.eurekaA.waitForExit(10_000);
    times.killed = Date.now();
    await s.restartEureka('A', SYNC_FROM_PEER);
    times.healthy = Date.now();
    const a = await s.liveInstance(s.eurekaA, target.instanceId);
    times.firstRead = Date.now();
    process.stdout.write(`  restarted A first shows ${a === null ? 'absent' : `${a.status}/${a.overriddenStatus}`}\n`);
  });
  expectNoFailure(o.result);
  const { report, record } = o.roll;
  const startedAt = Date.parse(full(report).startedAt);
  process.stdout.write(`  A killed +${times.killed! - startedAt} ms, healthy again +${times.healthy! - startedAt} ms; drain answered +${record.hookReturnedAt! - startedAt}\n`);
  expect(times.healthy!).toBeLessThan(record.hookReturnedAt!);
  expect(report.outcome).toBe('verified');
  expect(record.killed).toEqual([]);
  expectShippedOrder(o.roll);
  expect(record.drainer!.exitCode).toBe(0);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  // From the override until the app's SIGTERM: never UP on a server that answered (the restarted server's copy
  // came from its peer, with the override, or the drainer put it back).
  expectNeverOffered(o, startedAt + Math.max(...report.servers.map((x) => x.liveVerifiedMs ?? 0)) + 100);
  // Once A answered again it showed the override until the app stopped.
  expect(between(o.samples, times.healthy! + 1_000, record.appSigtermAt!).filter((x) => !isOut(x.a))).toEqual([]);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});

test('4: both Eureka servers down: /prestop still answers after the full plan (not_taken_out); requests fail only after the app stopped', async () => {
  const s = suite.stack();
  await ensurePair(s);
  const [target] = alive(s);
  const replacement = await s.addInstance();
  const load = await startLoadOn([target!, replacement]);
  await Promise.all([s.eurekaA.stop(), s.eurekaB.stop()]);
  const o = await observedRollOut(s, target!, load, '4 both servers down');
  const { report, record } = o.roll;
  // Nothing could be taken out: the full plan was waited, and the report says so.
  expect(report.outcome).toBe('not_taken_out');
  expect(report.instanceId).toBeNull();
  expect(report.durationMs).toBeGreaterThanOrEqual(report.plan.drainMs - 100);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainBudgetMs);
  expect(metricValue(o.metrics, 'drains_total', { outcome: 'not_taken_out' })).toBe(1);
  expect(record.killed).toEqual([]);
  expect(record.app.exitCode).toBe(143);
  // Honest: the callers never learned the instance left (their Eureka caches are frozen), so once the app
  // stopped every request the gateway still sent it failed; none failed before the app's SIGTERM, and the other
  // instance kept serving.
  const failures = o.result.failures;
  process.stdout.write(`  failures ${failures.length}: first sent +${failures.length ? failures[0]!.sentAt - record.appSigtermAt! : '-'} ms after the app's SIGTERM; exit ${record.drainer!.exitCode}\n`);
  expect(failures.length).toBeGreaterThan(0);
  expect(failures.filter((f) => f.sentAt < record.appSigtermAt!)).toEqual([]);
  expect(o.result.perInstance[replacement.instanceId]!.lastServedAt).toBeGreaterThan(record.appExitedAt!);
  // Exit code: nothing of ours is in Eureka (no override was ever accepted), so 0.
  expect(record.drainer!.exitCode).toBe(0);
});
