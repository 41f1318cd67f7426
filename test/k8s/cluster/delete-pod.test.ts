/**
 * Issue 20 C1 on a real cluster: `kubectl delete pod` of the shipped classic pod and of the native-sidecar pod,
 * under 100 req/s through Spring Cloud Gateway. The kubelet (v1.37.2, real) calls both hooks, sends the SIGTERMs
 * in its own order and runs the image `npm run image` built; the demo app and the Eureka pair are the real
 * Spring fixtures. Asserted: zero failed requests, both hooks called by the kubelet (its log, and the drainer's),
 * the drain verified, the app's exit 143 and the drainer's own exit 0 after its clean-up, the instance gone from
 * both servers, and the kubelet's order (classic: both hooks at once, each container killed after its own hook;
 * native: the sidecar killed after the app's container stopped).
 */
import { describe, expect, test } from '@jest/globals';
import { podFromDeployment } from './support/kube';
import { recordResult } from './support/results';
import { deleteUnderLoad, describeTermination, runPod, useCluster } from './support/scenario';
import { workload, type WorkloadSource } from './support/workloads';

const file = useCluster('edk8s-delete');

describe.each<[WorkloadSource, string]>([
  ['k8s/classic-sidecar.yaml', 'classic'],
  ['k8s/native-sidecar.yaml', 'native'],
])('kubectl delete pod of %s', (source, name) => {
  test('zero failed requests, both hooks called by the kubelet, the drainer exits 0 after its clean-up', async () => {
    const w = workload({ source, name, replicas: 1, eurekaUrls: file.world.eurekaUrls });
    console.log(`${name}: substituted from the manifest: ${JSON.stringify(w.substituted)}`);
    const { instanceId } = await runPod(file, podFromDeployment(w.deployment, name));
    const t = await deleteUnderLoad(file, name);
    console.log(describeTermination(name, t));
    const { events, tracker, drainer } = t;

    expect(t.load.failed).toBe(0);
    expect(t.load.perInstance[instanceId]?.served ?? 0).toBeGreaterThan(0);
    expect(t.report?.['outcome']).toBe('verified');
    // The kubelet called the hooks: its log says so, and the drainer saw the calls.
    expect(events.preStop.map((e) => e.container).sort()).toEqual(name === 'classic' ? ['app', 'eureka-drainer'] : ['app']);
    expect(drainer.json().some((l) => l['msg'] === 'drain phase changed' && l['event'] === 'prestop')).toBe(true);
    // Exits: the app's SIGTERM after the drain (143: Spring's graceful shutdown on SIGTERM), the drainer's own 0.
    expect(tracker.terminated('app')?.['exitCode']).toBe(143);
    expect(tracker.terminated('eureka-drainer')?.['exitCode']).toBe(0);
    expect(drainer.find('nothing of ours is left: exiting')).toBeDefined();
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
    await file.world.waitGone(instanceId);
    recordResult(`delete pod (${name})`, {
      failed: t.load.failed,
      sent: t.load.sent,
      outcome: t.report?.['outcome'],
      drainMs: t.report?.['durationMs'],
      hooks: events.preStop.map((e) => e.container),
      sigterm: events.kill.map((e) => `${e.container} +${e.at - t.deletedAt} ms`),
      exits: { app: tracker.terminated('app')?.['exitCode'], drainer: tracker.terminated('eureka-drainer')?.['exitCode'] },
    });
  }, 240_000);
});
