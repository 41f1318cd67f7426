/**
 * Issue 20 C3 on a real cluster: the drainer container restarted by its own liveness probe, provoked for real.
 * The shipped classic pod, its drainer's livenessProbe scaled down (every 1 s, 1 s timeout, 2 failures: printed
 * as substituted); the drainer process is frozen (SIGSTOP, a hung event loop as the kubelet sees it) until the
 * kubelet has decided to restart it and runs the container's own preStop (`/prestop/join`), then thawed. The
 * kubelet kills and restarts the drainer container alone; the app keeps running. Asserted: the instance never
 * leaves service (UP, no OUT_OF_SERVICE override, on both servers at every read from the freeze until the new
 * drainer is Ready), no request fails under 100 req/s, the restart count is 1, and the old drainer said its
 * join found no drain.
 */
import { expect, test } from '@jest/globals';
import { LoadGenerator } from '../../e2e/stack/load';
import { pollUntil } from '../../e2e/support/poll';
import { containerPid, getPod, kubectl, podFromDeployment, type Json } from './support/kube';
import { kubeletEvents } from './support/kubelet-log';
import { recordResult } from './support/results';
import { runPod, useCluster } from './support/scenario';
import { workload } from './support/workloads';

const NAME = 'liveness';
const file = useCluster('edk8s-liveness');

test('a liveness restart of the drainer container: the instance never leaves service, no request fails', async () => {
  const w = workload({ source: 'k8s/classic-sidecar.yaml', name: NAME, replicas: 1, eurekaUrls: file.world.eurekaUrls });
  const pod = podFromDeployment(w.deployment, NAME);
  const drainer = ((pod['spec'] as Json)['containers'] as Json[]).find((c) => c['name'] === 'eureka-drainer')!;
  const probe = drainer['livenessProbe'] as Json;
  w.substituted['drainer livenessProbe'] = [JSON.stringify(probe), JSON.stringify({ ...probe, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 })];
  Object.assign(probe, { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 });
  console.log(`liveness: substituted from the manifest: ${JSON.stringify(w.substituted)}`);
  const { status: ready, instanceId: id } = await runPod(file, pod);
  const world = file.world;

  const load = new LoadGenerator({ url: world.helloUrl, ratePerSecond: 100, maxRequests: 20_000, maxDurationMs: 120_000 }).start();
  const reads: string[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const views = await world.live(id);
      reads.push(views.map((v) => (v ? `${v.status}/${v.overriddenStatus ?? 'UNKNOWN'}` : 'absent')).join(' | '));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const frozenAt = Date.now();
  const pid = containerPid(ready.containers.find((c) => c.name === 'eureka-drainer')!.containerID!);
  process.kill(pid, 'SIGSTOP');
  try {
    // The kubelet has decided: it runs the drainer container's own preStop before the kill.
    await pollUntil('the kubelet to run the drainer container’s preStop after its liveness failures', async () => (kubeletEvents(NAME, frozenAt).preStop.some((e) => e.container === 'eureka-drainer') ? true : undefined), 60_000, 200);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const restarted = await pollUntil('the drainer container restarted and Ready', async () => {
    const p = await getPod(file.namespace, NAME);
    const d = p?.containers.find((c) => c.name === 'eureka-drainer');
    return d && d.restartCount >= 1 && d.ready && p?.ready ? p : undefined;
  }, 90_000, 250);
  await new Promise((r) => setTimeout(r, 2_000));
  watching = false;
  await watch;
  const result = await load.stop();
  const previous = await kubectl(['logs', '--previous', '-n', file.namespace, NAME, '-c', 'eureka-drainer']);
  const events = kubeletEvents(NAME, frozenAt);
  const notInService = reads.filter((r) => r !== 'UP/UNKNOWN | UP/UNKNOWN');
  console.log(`liveness: ${result.failed} of ${result.sent} failed; ${reads.length} reads, not UP/UNKNOWN on both: ${JSON.stringify(notInService)}; kubelet ${JSON.stringify(events)}`);

  expect(events.kill.map((e) => e.container)).toEqual(['eureka-drainer']);
  expect(restarted.containers.find((c) => c.name === 'eureka-drainer')!.restartCount).toBe(1);
  expect(restarted.containers.find((c) => c.name === 'app')!.restartCount).toBe(0);
  expect(reads.length).toBeGreaterThan(20);
  expect(notInService).toEqual([]);
  expect(result.failed).toBe(0);
  expect(previous).toContain('this container alone is stopping');
  recordResult('liveness restart (classic)', { failed: result.failed, sent: result.sent, reads: reads.length, notUpOnBoth: notInService.length, drainerRestarts: 1 });
}, 300_000);
