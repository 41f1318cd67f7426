/**
 * Issue 20 bug 4 on a real cluster: companion clean-up and Eureka's late replication. Seen from outside in 1 of 31
 * drains: server A forwarded one of the app's last heartbeats to B after B had applied the cancel; B answered 404
 * and A re-registered the instance on B from its copy (DOWN, still carrying our override) a few ms after the
 * drainer had found it absent on both. The race cannot be had on demand, so its last step is forced here with
 * Eureka's own API: once the drainer's first clean-up pass has found the instance gone on both servers (its
 * `/drain` says so), the test sends B what A would — a replicated register (`x-netflix-discovery-replication:
 * true`) of A's copy taken during the drain. Everything else is real: the kubelet, the image, the Spring app, the pair.
 * Asserted: the drainer checks again after replication settles, deletes it again (`deleted_again` on B), its done
 * line leaves nothing, it exits 0, and the instance is gone from both servers.
 */
import { expect, test } from '@jest/globals';
import { failureSummary, LoadGenerator } from '../../e2e/stack/load';
import { pollUntil } from '../../e2e/support/poll';
import { kubectl, LogFollower, PodTracker, podFromDeployment, type Json } from './support/kube';
import { recordResult } from './support/results';
import { runPod, useCluster } from './support/scenario';
import { workload } from './support/workloads';

const NAME = 'cleanup-race';
const file = useCluster('edk8s-cleanup');
const NS = file.namespace;

interface DrainView {
  readonly phase: string;
  readonly servers?: readonly { server: string; cleanup: string | null }[];
}

test('an instance a peer re-registers after the first clean-up pass is deleted again, and nothing is left', async () => {
  const world = file.world;
  const w = workload({ source: 'k8s/classic-sidecar.yaml', name: NAME, replicas: 1, eurekaUrls: world.eurekaUrls });
  const { status: ready, instanceId: id } = await runPod(file, podFromDeployment(w.deployment, NAME));
  const drainUrl = `http://${ready.podIP!}:8787/drain`;

  const drainer = new LogFollower(NS, NAME, 'eureka-drainer');
  const tracker = new PodTracker(NS, NAME);
  const load = new LoadGenerator({ url: world.helloUrl, ratePerSecond: 100, maxRequests: 20_000, maxDurationMs: 120_000 }).start();
  const deletedAt = Date.now();
  await kubectl(['delete', 'pod', NAME, '-n', NS, '--wait=false']);

  // A's copy while the override holds: what A would replicate to B.
  const copy = await pollUntil('A’s copy with our override', async () => {
    const response = await fetch(`${world.eurekaA.url}/eureka/apps/DEMO/${encodeURIComponent(id)}`, { headers: { Accept: 'application/json' } });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { instance: Json };
    return body.instance['overriddenStatus'] === 'OUT_OF_SERVICE' ? body : undefined;
  }, 20_000, 100);
  // The drainer's first pass: the app has exited and both servers were checked.
  await pollUntil('the drainer’s first clean-up pass on both servers', async () => {
    const view = (await (await fetch(drainUrl, { signal: AbortSignal.timeout(1_000) })).json()) as DrainView;
    return view.servers?.every((s) => s.cleanup !== null) ? view : undefined;
  }, 60_000, 20);
  const replicated = await fetch(`${world.eurekaB.url}/eureka/apps/DEMO`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-netflix-discovery-replication': 'true' },
    body: JSON.stringify({ instance: { ...copy.instance, status: 'DOWN' } }),
  });
  const replicatedAt = Date.now();
  const onB = await world.live(id).then((views) => views[1]);
  console.log(`cleanup-race: replicated register on B → ${replicated.status}; B now holds ${onB ? `${onB.status}/${onB.overriddenStatus}` : 'nothing'}`);

  await tracker.gone;
  const result = await load.stop();
  await drainer.ended;
  const done = drainer.json().find((l) => l['msg'] === 'drain phase changed' && l['to'] === 'done');
  const exiting = drainer.find('nothing of ours is left: exiting') ?? drainer.find('exiting with something possibly left behind');
  console.log(`cleanup-race: ${result.failed} of ${result.sent} failed ${JSON.stringify(failureSummary(result.failures))}, sent at +${result.failures.map((f) => f.sentAt - deletedAt).join(', +')} ms after the delete (the replicated register at +${replicatedAt - deletedAt} ms); done ${JSON.stringify(done)}; exit ${JSON.stringify(exiting)}`);

  expect(replicated.status).toBe(204);
  expect(onB).not.toBeNull();
  const servers = done?.['servers'] as { server: string; cleanup: string }[];
  expect(servers.find((s) => s.server.startsWith(world.eurekaB.url))?.cleanup).toBe('deleted_again');
  expect(done?.['leftSomething']).toBe(false);
  // The container's exit code may be gone with the pod before a poll sees it; the drainer's last line has it.
  expect(exiting?.['code']).toBe(0);
  expect(await world.live(id)).toEqual([null, null]);
  expect(result.failed).toBe(0);
  recordResult('clean-up after a late replicated register', { failed: result.failed, sent: result.sent, cleanup: servers.map((s) => s.cleanup), replicationSettled: done?.['replicationSettled'] });
}, 240_000);
