/**
 * Issue 20 C4 and the deadline bug it found (bugs 1 and 2), on a real cluster: the shipped classic pod with
 * terminationGracePeriodSeconds 60 (DRAINER_GRACE_PERIOD_SECONDS 60), a drain planned longer than the real
 * grace (tail 15 s: plan 19 s), deleted with `kubectl delete pod --grace-period=10`, under 100 req/s:
 *
 * (a) without DRAINER_POD_DEADLINE: the kubelet's 10 s end cuts both hooks ("PreStop hook not completed in grace
 *     period"), the drainer is SIGKILLed mid-drain (137) — what the README says a user loses without the setting;
 * (b) with DRAINER_POD_DEADLINE=true (k8s/pod-deadline-rbac.yaml, the real projected token and CA, the API at the
 *     `kubernetes` Service's address): the drainer reads deletionTimestamp, cuts the drain so /prestop answers by
 *     the deadline it reports (bug 1), the report says what was waited beside what was planned (bug 2), the app
 *     keeps its shutdown time, nothing is SIGKILLed, the drainer cleans up and exits 0;
 * (c) as (b) with both Eureka servers frozen (SIGSTOP) before the delete and the drainer told the servers' cache
 *     is 30 s: every request to Eureka hangs, and /prestop still answers by the deadline, so the kubelet's hook
 *     completes within the grace (bug 1).
 * The servers' response cache is 3 s here, and (c) tells the drainer 30 s, as when the bug was found. Run against
 * the build before the fix (EUREKA_DRAINER_TEST_IMAGE, 2026-12-06): (c) fails, that drainer never answered and was
 * killed; (b) passed (answered 7 ms after the deadline), so (c) is the one that pins bug 1 here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import YAML from 'yaml';
import { LoadGenerator, type LoadResult } from '../../e2e/stack/load';
import { assertInCluster, apply, createNamespace, deleteNamespace, kubectl, LogFollower, PodTracker, podFromDeployment, waitPodReady, type Json } from './support/kube';
import { kubeletEvents, type KubeletEvents } from './support/kubelet-log';
import { recordResult } from './support/results';
import { SCALED, type StackTimings } from '../../e2e/stack/stack';
import { World } from './support/world';
import { podInstanceId, workload } from './support/workloads';

const NS = 'edk8s-grace';
const GRACE = 60;
const DELETE_GRACE = 10;
/** The found-on-a-real-cluster bug showed with a 3 s server cache (answered 2.6 s late) and, with Eureka not answering, a 30 s one. */
const TIMINGS: StackTimings = { ...SCALED, serverCacheMs: 3_000 };
let world: World;

beforeAll(async () => {
  assertInCluster();
  world = await World.start(TIMINGS);
  await createNamespace(NS);
  const rbac = YAML.parseAllDocuments(readFileSync(join(__dirname, '..', '..', '..', 'k8s', 'pod-deadline-rbac.yaml'), 'utf8')).map((d) => d.toJSON() as Json);
  await apply(rbac, NS);
}, 300_000);

afterAll(async () => {
  await deleteNamespace(NS);
  await world?.stop();
}, 200_000);

interface Run {
  readonly load: LoadResult;
  readonly deletedAt: number;
  readonly drainer: LogFollower;
  readonly tracker: PodTracker;
  readonly events: KubeletEvents;
  readonly report: Record<string, unknown> | undefined;
  readonly finishedAt: number | undefined;
}

async function deleteWithShortGrace(name: string, podDeadline: boolean, extraEnv: Record<string, string> = {}, beforeDelete: () => void = () => undefined, afterGone: () => void = () => undefined): Promise<Run> {
  const w = workload({
    source: 'k8s/classic-sidecar.yaml',
    name,
    replicas: 1,
    eurekaUrls: world.eurekaUrls,
    timings: TIMINGS,
    graceSeconds: GRACE,
    drainerEnv: { DRAINER_TAIL_SECONDS: '15', DRAINER_APP_SHUTDOWN_SECONDS: '2', ...(podDeadline ? { DRAINER_POD_DEADLINE: 'true' } : {}), ...extraEnv },
  });
  const pod = podFromDeployment(w.deployment, name);
  if (podDeadline) (pod['spec'] as Json)['serviceAccountName'] = 'orders-drainer';
  console.log(`${name}: substituted from the manifest: ${JSON.stringify(w.substituted)}`);
  await apply([pod], NS);
  const ready = await waitPodReady(NS, name);
  const id = podInstanceId(ready.podIP!);
  await world.waitUp(id);
  await world.waitRouted([id, world.outsideId]);

  const drainer = new LogFollower(NS, name, 'eureka-drainer');
  const tracker = new PodTracker(NS, name);
  const load = new LoadGenerator({ url: world.helloUrl, ratePerSecond: 100, maxRequests: 20_000, maxDurationMs: 120_000 }).start();
  await new Promise((r) => setTimeout(r, 1_000));
  beforeDelete();
  const deletedAt = Date.now();
  await kubectl(['delete', 'pod', name, '-n', NS, `--grace-period=${DELETE_GRACE}`, '--wait=false']);
  await tracker.gone;
  afterGone();
  await new Promise((r) => setTimeout(r, 1_000));
  const result = await load.stop();
  await drainer.ended;
  const finished = drainer.find('drain finished');
  const report = finished?.['report'] as Record<string, unknown> | undefined;
  const events = kubeletEvents(name, deletedAt);
  const run: Run = { load: result, deletedAt, drainer, tracker, events, report, finishedAt: report ? Date.parse(String(report['answeredAt'])) : undefined };
  console.log(`${name}: ${result.failed} of ${result.sent} failed; report ${JSON.stringify(report)}; kubelet ${JSON.stringify(events)}; app ${JSON.stringify(tracker.terminated('app'))}; drainer ${JSON.stringify(tracker.terminated('eureka-drainer'))}`);
  return run;
}

describe(`kubectl delete pod --grace-period=${DELETE_GRACE} of a pod whose grace is ${GRACE} s`, () => {
  test('(a) without DRAINER_POD_DEADLINE: the hooks are cut at the real end and the drainer is SIGKILLed mid-drain', async () => {
    const run = await deleteWithShortGrace('cut-no-api', false);
    expect(run.events.preStopNotCompleted.map((e) => e.container).sort()).toEqual(['app', 'eureka-drainer']);
    expect(run.tracker.terminated('eureka-drainer')?.['exitCode']).toBe(137);
    expect(run.report).toBeUndefined();
    recordResult('short grace (a) no pod deadline', { failed: run.load.failed, sent: run.load.sent, drainerExit: run.tracker.terminated('eureka-drainer')?.['exitCode'] });
  }, 240_000);

  test('(b) with DRAINER_POD_DEADLINE=true: the drain is cut to fit, /prestop answers by its deadline, nothing is SIGKILLed', async () => {
    const run = await deleteWithShortGrace('cut-api', true);
    const report = run.report!;
    expect(report).toBeDefined();
    expect(run.drainer.find('Kubernetes ends the grace period earlier')).toBeDefined();
    expect(report['outcome']).toBe('cut_short');
    const deadlineAt = Date.parse(String(report['deadlineAt']));
    // The deletion's end: deletionTimestamp = delete + 10 s; the drain's deadline leaves the app its shutdown + margin.
    expect(deadlineAt).toBeLessThanOrEqual(run.deletedAt + DELETE_GRACE * 1000);
    // Bug 1: the answer comes by the deadline it reports (was 2.6 s after it), within one verification poll.
    expect(run.finishedAt!).toBeLessThanOrEqual(deadlineAt + 250);
    expect(run.events.preStopCompleted.map((e) => e.container).sort()).toEqual(['app', 'eureka-drainer']);
    expect(run.events.preStopNotCompleted).toEqual([]);
    expect(run.tracker.terminated('eureka-drainer')?.['exitCode']).toBe(0);
    expect(run.tracker.terminated('app')?.['exitCode']).toBe(143);
    expect(run.load.failed).toBe(0);
    recordResult('short grace (b) pod deadline', { failed: run.load.failed, sent: run.load.sent, answeredVsDeadlineMs: run.finishedAt! - deadlineAt, durationMs: report['durationMs'] });
  }, 240_000);

  test('(c) with DRAINER_POD_DEADLINE=true and Eureka not answering: /prestop still answers before the kubelet gives up', async () => {
    const run = await deleteWithShortGrace(
      'cut-frozen',
      true,
      { EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '30000' },
      () => world.servers.forEach((s) => s.signal('SIGSTOP')),
      () => world.servers.forEach((s) => s.signal('SIGCONT')),
    );
    const report = run.report!;
    expect(report).toBeDefined();
    const deadlineAt = Date.parse(String(report['deadlineAt']));
    expect(run.finishedAt!).toBeLessThanOrEqual(deadlineAt + 250);
    expect(run.events.preStopNotCompleted).toEqual([]);
    expect(run.events.preStopCompleted.map((e) => e.container)).toContain('app');
    expect(run.tracker.terminated('eureka-drainer')?.['exitCode']).not.toBe(137);
    recordResult('short grace (c) Eureka frozen', { failed: run.load.failed, sent: run.load.sent, answeredVsDeadlineMs: run.finishedAt! - deadlineAt, outcome: report['outcome'], drainerExit: run.tracker.terminated('eureka-drainer')?.['exitCode'] });
  }, 240_000);
});
