/**
 * Scenarios 1 and 2: rolling one instance out under load, with the pod as each shipped manifest describes it —
 * k8s/classic-sidecar.yaml, k8s/native-sidecar.yaml, and the Kustomize component rendered onto a plain
 * Deployment — on the real stack (Eureka pair, Spring Boot demo instances with their own Eureka client, Spring
 * Cloud Gateway as the caller) and the kubelet emulator. No request may fail, and no request may reach the
 * drained instance after its app got SIGTERM. Instance 0 runs the classic pod, instance 1 the native one; the
 * component's pod is started as instance 1's replacement and rolled last.
 */
import type { LoadGenerator, LoadResult } from './load';
import type { ManifestSource } from './manifest';
import { describeRollOut, expectCleanVerifiedRollOut, expectShippedOrder, rollOut, stackForFile } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(180_000);

const RATE = 100;
const suite = stackForFile({ demos: 2, manifest: ['k8s/classic-sidecar.yaml', 'k8s/native-sidecar.yaml'] });
let load: LoadGenerator | undefined;

afterEach(async () => {
  await suite.stopLoads();
  load = undefined;
});

function startLoad(): LoadGenerator {
  load = suite.startLoad(RATE, 90);
  return load;
}

/** What every drain must show, whatever the sidecar kind. */
async function expectCleanRollOut(drained: DemoInstance, others: readonly DemoInstance[], source: ManifestSource): Promise<void> {
  const s = suite.stack();
  const l = load!;
  // The instance is in rotation under load before the drain starts (not a sleep: driven by the answers).
  await l.waitForServed(drained.instanceId, 20);
  for (const other of others) await l.waitForServed(other.instanceId, 20);

  expect(drained.pod?.source).toBe(source);
  const roll = await rollOut(drained, { stack: s });
  // Keep the load on for a while after the pod is gone: a late failure would show here.
  await l.waitForCompleted(RATE);
  const result: LoadResult = await l.stop();
  process.stdout.write(describeRollOut(source, drained, roll, l));
  process.stdout.write(`  substituted from the manifest: ${JSON.stringify(drained.pod!.substituted)}\n`);
  process.stdout.write(`  load: ${JSON.stringify({ sent: result.sent, ok: result.ok, failed: result.failed, rate: result.achievedRate, latencyMs: result.latencyMs })}\n`);

  // Zero failed requests; the drain verified on both servers, within its plan, the app told to go by the
  // kubelet; nothing SIGKILLed (scenario.ts expectCleanVerifiedRollOut), in the shipped pod's order.
  expectCleanVerifiedRollOut(result, roll, drained);
  const { record, report } = roll;
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);
  expect(record.sidecar).toBe(drained.pod!.sidecar);
  const order = expectShippedOrder(roll);
  process.stdout.write(`  order (ms from the start): ${JSON.stringify(order)}\n`);

  // No request reached the drained instance after its app got SIGTERM: its last answer came before it.
  const stats = l.stats(drained.instanceId)!;
  expect(stats.lastServedAt).toBeLessThan(record.appSigtermAt!);
  // …while the others kept serving after it.
  for (const other of others) expect(l.stats(other.instanceId)!.lastServedAt).toBeGreaterThan(record.appExitedAt!);

  // Its registration is gone on both servers (the app cancelled itself; the drainer checked and exited 0).
  expect(await s.liveOnBoth(drained.instanceId)).toEqual([null, null]);
}

test('classic sidecar (k8s/classic-sidecar.yaml, both hooks): rolling one instance out under load fails no request', async () => {
  const [drained, other] = suite.stack().instances as [DemoInstance, DemoInstance];
  startLoad();
  await expectCleanRollOut(drained, [other], 'k8s/classic-sidecar.yaml');
});

test('native sidecar (k8s/native-sidecar.yaml): rolling one instance out under load fails no request', async () => {
  const s = suite.stack();
  const drained = s.instances[1]!;
  expect(drained.app.exited).toBe(false);
  startLoad();
  // A rolling update: the replacement pod (here: the component's) is up and routed before the old one is drained.
  const replacement = await s.addInstance({ manifest: 'k8s/component' });
  await expectCleanRollOut(drained, [replacement], 'k8s/native-sidecar.yaml');
});

test('Kustomize component (k8s/component rendered onto a Deployment): rolling one instance out under load fails no request', async () => {
  const s = suite.stack();
  const drained = s.instances[2]!;
  startLoad();
  const replacement = await s.addInstance({ manifest: 'k8s/classic-sidecar.yaml' });
  await expectCleanRollOut(drained, [replacement], 'k8s/component');
});
