/**
 * Issue 20 C2 and C5 on a real cluster, with a Deployment made from the Kustomize component (the real kustomize
 * renders k8s/component onto a plain Deployment) under 100 req/s through Spring Cloud Gateway, and the instance
 * outside the cluster (a plain process registered in the same Eureka) serving throughout:
 *
 * - `kubectl rollout restart` of 2 replicas (maxSurge 1, maxUnavailable 0: the Deployment's defaults): the
 *   Deployment controller replaces each pod, the kubelet drains the old ones; zero failed requests;
 * - the seed's own scenario: `kubectl drain` of the node (cordon, then the eviction API, honouring a
 *   PodDisruptionBudget of maxUnavailable 1) while 3 replicas run there; on one node the replacements tolerate
 *   the cordon (else they stay Pending and the budget never lets the next eviction through); zero failed.
 */
import { loadavg } from 'node:os';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { LoadGenerator, type LoadResult } from '../../e2e/stack/load';
import { pollUntil } from '../../e2e/support/poll';
import { apply, kubectl, kubectlRaw, listPods, LogFollower, NODE_NAME, type PodStatus } from './support/kube';
import { recordResult } from './support/results';
import { useCluster } from './support/scenario';
import { podInstanceId, workload } from './support/workloads';

const file = useCluster('edk8s-rollout');
const NS = file.namespace;

/** The load of the test in progress: stopped after it even when it failed half-way (else it runs on to its cap). */
let running: LoadGenerator | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
}, 60_000);

afterAll(async () => {
  await kubectlRaw(['uncordon', NODE_NAME]);
}, 60_000);

/** Waits until exactly `replicas` pods of the app are Ready, none terminating, and each is routed by the gateway. */
async function settled(app: string, replicas: number): Promise<PodStatus[]> {
  const pods = await pollUntil(`${replicas} Ready pods of ${app}, none terminating`, async () => {
    const list = await listPods(NS, `app=${app}`);
    return list.length === replicas && list.every((p) => p.ready && !p.deletionTimestamp) ? list : undefined;
  }, 300_000, 500);
  const ids = pods.map((p) => podInstanceId(p.podIP!));
  for (const id of ids) await file.world.waitUp(id);
  await file.world.waitRouted([...ids, file.world.outsideId]);
  return pods;
}

/** Follows the drainer of each pod (native sidecar: an init container) until it exits. */
function followDrainers(pods: readonly PodStatus[]): LogFollower[] {
  return pods.map((p) => new LogFollower(NS, p.name, 'eureka-drainer'));
}

function reports(followers: readonly LogFollower[]): Record<string, unknown>[] {
  return followers.map((f) => (f.find('drain finished')?.['report'] ?? {}) as Record<string, unknown>);
}

/** When each drainer logged `drain started` (epoch ms), by pod: the times failures are read against. */
function drainStarts(pods: readonly PodStatus[], followers: readonly LogFollower[]): Record<string, number> {
  return Object.fromEntries(pods.map((p, i) => [p.name, Date.parse((followers[i]?.find('drain started')?.['time'] as string | undefined) ?? '')]));
}

/**
 * The failed requests grouped by cause, with when they were sent relative to each old pod's drain start: enough to
 * tell a failure on a draining pod from one on a new pod or in the gateway, when the count alone says nothing.
 */
function summary(result: LoadResult, starts: Record<string, number> = {}): string {
  // The machine's load beside the count: on 2 shared cores, a gateway starved of CPU times out with no drain involved.
  const head = `${result.failed} of ${result.sent} failed (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`;
  if (result.failed === 0) return head;
  const groups = new Map<string, { count: number; first: number; last: number }>();
  for (const f of result.failures) {
    const key = `${f.kind} ${f.status ?? f.code ?? ''} ${f.detail.slice(0, 160)}`;
    const g = groups.get(key) ?? { count: 0, first: f.sentAt, last: f.sentAt };
    groups.set(key, { count: g.count + 1, first: Math.min(g.first, f.sentAt), last: Math.max(g.last, f.sentAt) });
  }
  const rel = (t: number): string => Object.entries(starts).map(([pod, s]) => `${pod.slice(-5)}${t - s >= 0 ? '+' : ''}${t - s} ms`).join(' ');
  const lines = [...groups].map(([key, g]) => `  ${g.count}× ${key}\n    sent from ${rel(g.first)} to ${rel(g.last)}`);
  const served = Object.values(result.perInstance).map((i) => `  ${i.instanceId}: ${i.served} served, last sent ${rel(i.lastServedSentAt)}`);
  return [head, 'failures by cause (send time after each old pod\'s drain start):', ...lines, 'served by:', ...served].join('\n');
}

describe('a Deployment from the Kustomize component', () => {
  test('kubectl rollout restart of 2 replicas: zero failed requests, every old pod drained and verified', async () => {
    const w = workload({ source: 'k8s/component', name: 'rolled', replicas: 2, eurekaUrls: file.world.eurekaUrls });
    console.log(`rolled: substituted from the manifest: ${JSON.stringify(w.substituted)}`);
    await apply(w.objects, NS);
    const before = await settled('rolled', 2);
    const drainers = followDrainers(before);
    const load = (running = new LoadGenerator({ url: file.world.helloUrl, ratePerSecond: 100, maxRequests: 60_000, maxDurationMs: 300_000 }).start());
    await new Promise((r) => setTimeout(r, 1_000));
    await kubectl(['rollout', 'restart', 'deployment/rolled', '-n', NS]);
    await kubectl(['rollout', 'status', 'deployment/rolled', '-n', NS, '--timeout=280s'], undefined, 290_000);
    const after = await settled('rolled', 2);
    await Promise.all(drainers.map((d) => d.ended));
    const result = await load.stop();
    const drained = reports(drainers);
    console.log(`rollout restart: ${summary(result, drainStarts(before, drainers))}; reports ${JSON.stringify(drained)}`);
    expect(result.failed).toBe(0);
    expect(drained.map((r) => r['outcome'])).toEqual(['verified', 'verified']);
    expect(after.map((p) => p.name).some((n) => before.some((b) => b.name === n))).toBe(false);
    for (const p of before) await file.world.waitGone(podInstanceId(p.podIP!));
    recordResult('rollout restart (component, 2 replicas)', { failed: result.failed, sent: result.sent, drains: drained.map((r) => `${String(r['outcome'])} ${String(r['durationMs'])} ms`) });
  }, 420_000);

  test('kubectl drain of the node with 3 replicas and a PodDisruptionBudget: zero failed requests', async () => {
    const w = workload({ source: 'k8s/component', name: 'drained', replicas: 3, eurekaUrls: file.world.eurekaUrls, tolerateUnschedulable: true });
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'drained' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'drained' } } } };
    await apply([...w.objects, pdb], NS);
    const before = await settled('drained', 3);
    const drainers = followDrainers(before);
    const load = (running = new LoadGenerator({ url: file.world.helloUrl, ratePerSecond: 100, maxRequests: 60_000, maxDurationMs: 400_000 }).start());
    await new Promise((r) => setTimeout(r, 1_000));
    // Only this test's pods: the node also runs the other files' leftovers while their namespaces go.
    await kubectl(['drain', NODE_NAME, '--pod-selector=app=drained', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=380s'], undefined, 390_000);
    const after = await settled('drained', 3);
    await Promise.all(drainers.map((d) => d.ended));
    const result = await load.stop();
    await kubectl(['uncordon', NODE_NAME]);
    const drained = reports(drainers);
    console.log(`node drain: ${summary(result, drainStarts(before, drainers))}; reports ${JSON.stringify(drained)}`);
    expect(result.failed).toBe(0);
    expect(drained.map((r) => r['outcome'])).toEqual(['verified', 'verified', 'verified']);
    expect(result.perInstance[file.world.outsideId]?.served ?? 0).toBeGreaterThan(0);
    expect(after.map((p) => p.name).some((n) => before.some((b) => b.name === n))).toBe(false);
    recordResult('kubectl drain (component, 3 replicas, PDB maxUnavailable 1)', { failed: result.failed, sent: result.sent, drains: drained.map((r) => `${String(r['outcome'])} ${String(r['durationMs'])} ms`) });
  }, 480_000);
});
