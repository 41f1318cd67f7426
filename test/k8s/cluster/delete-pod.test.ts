/**
 * Issue 20 C1 on a real cluster: `kubectl delete pod` of the shipped classic pod and of the native-sidecar pod,
 * under 100 req/s through Spring Cloud Gateway. The kubelet (v1.37.2, real) calls both hooks, sends the SIGTERMs
 * in its own order and runs the image `npm run image` built; the demo app and the Eureka pair are the real
 * Spring fixtures. Asserted: zero failed requests, both hooks called by the kubelet (its log, and the drainer's),
 * the drain verified, the app's exit 143 and the drainer's own exit 0 after its clean-up, the instance gone from
 * both servers, and the kubelet's order (classic: both hooks at once, each container killed after its own hook;
 * native: the sidecar killed after the app's container stopped).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { LoadGenerator } from '../../e2e/stack/load';
import { assertInCluster, apply, createNamespace, deleteNamespace, kubectl, LogFollower, PodTracker, podFromDeployment, waitPodReady } from './support/kube';
import { kubeletEvents } from './support/kubelet-log';
import { recordResult } from './support/results';
import { World } from './support/world';
import { podInstanceId, workload, type WorkloadSource } from './support/workloads';

const NS = 'edk8s-delete';
let world: World;

beforeAll(async () => {
  assertInCluster();
  world = await World.start();
  await createNamespace(NS);
}, 300_000);

afterAll(async () => {
  await deleteNamespace(NS);
  await world?.stop();
}, 200_000);

describe.each<[WorkloadSource, string]>([
  ['k8s/classic-sidecar.yaml', 'classic'],
  ['k8s/native-sidecar.yaml', 'native'],
])('kubectl delete pod of %s', (source, name) => {
  test('zero failed requests, both hooks called by the kubelet, the drainer exits 0 after its clean-up', async () => {
    const w = workload({ source, name, replicas: 1, eurekaUrls: world.eurekaUrls });
    console.log(`${name}: substituted from the manifest: ${JSON.stringify(w.substituted)}`);
    await apply([podFromDeployment(w.deployment, name)], NS);
    const pod = await waitPodReady(NS, name);
    const id = podInstanceId(pod.podIP!);
    await world.waitUp(id);
    await world.waitRouted([id, world.outsideId]);

    const drainerLog = new LogFollower(NS, name, 'eureka-drainer');
    const tracker = new PodTracker(NS, name);
    const load = new LoadGenerator({ url: world.helloUrl, ratePerSecond: 100, maxRequests: 20_000, maxDurationMs: 120_000 }).start();
    await new Promise((r) => setTimeout(r, 1_000));
    const deletedAt = Date.now();
    await kubectl(['delete', 'pod', name, '-n', NS, '--wait=false']);
    await tracker.gone;
    await new Promise((r) => setTimeout(r, 1_000));
    const result = await load.stop();
    await drainerLog.ended;

    const report = drainerLog.find('drain finished')?.['report'] as Record<string, unknown> | undefined;
    const events = kubeletEvents(name, deletedAt);
    console.log(`${name}: ${result.failed} of ${result.sent} failed; report ${JSON.stringify(report)}; kubelet ${JSON.stringify(events)}; app ${JSON.stringify(tracker.terminated('app'))}; drainer ${JSON.stringify(tracker.terminated('eureka-drainer'))}`);

    expect(result.failed).toBe(0);
    expect(result.perInstance[id]?.served ?? 0).toBeGreaterThan(0);
    expect(report?.['outcome']).toBe('verified');
    // The kubelet called the hooks: its log says so, and the drainer saw the calls.
    expect(events.preStop.map((e) => e.container).sort()).toEqual(name === 'classic' ? ['app', 'eureka-drainer'] : ['app']);
    expect(drainerLog.json().some((l) => l['msg'] === 'drain phase changed' && l['event'] === 'prestop')).toBe(true);
    // Exits: the app's SIGTERM after the drain (143: Spring's graceful shutdown on SIGTERM), the drainer's own 0.
    expect(tracker.terminated('app')?.['exitCode']).toBe(143);
    expect(tracker.terminated('eureka-drainer')?.['exitCode']).toBe(0);
    expect(drainerLog.find('nothing of ours is left: exiting')).toBeDefined();
    // The kubelet's order.
    const killApp = events.kill.find((e) => e.container === 'app')!;
    const killDrainer = events.kill.find((e) => e.container === 'eureka-drainer')!;
    expect(killApp).toBeDefined();
    expect(killDrainer).toBeDefined();
    if (name === 'classic') {
      // Both hooks start together; each container is killed (SIGTERM) once its own hook returned.
      const hooks = events.preStop.map((e) => e.at);
      expect(Math.abs(hooks[0]! - hooks[1]!)).toBeLessThan(1_000);
    } else {
      // A native sidecar is stopped only after the app's container has stopped.
      expect(killDrainer.at).toBeGreaterThanOrEqual(killApp.at);
    }
    await world.waitGone(id);
    recordResult(`delete pod (${name})`, {
      failed: result.failed,
      sent: result.sent,
      outcome: report?.['outcome'],
      drainMs: report?.['durationMs'],
      hooks: events.preStop.map((e) => e.container),
      sigterm: events.kill.map((e) => `${e.container} +${e.at - deletedAt} ms`),
      exits: { app: tracker.terminated('app')?.['exitCode'], drainer: tracker.terminated('eureka-drainer')?.['exitCode'] },
    });
  }, 240_000);
});
