/**
 * Issue 11, the end-to-end: `eureka-drainer inject` (the built CLI, dist/main.js) on a plain Deployment of the
 * stack's Spring Boot demo service (test/e2e/stack/fixtures/demo-deployment.yaml: the opt-in annotation and a
 * ConfigMap, nothing else), then a roll-out under load of the pod the CLI wrote, run by the kubelet emulator:
 * the drainer's env, the app's preStop, the sidecar kind and the grace period are the injected YAML's
 * (manifest.ts podFromManifest; only its usual substitutions: addresses and the scaled app shutdown, printed).
 *
 * The injected drainer has no token: the kubelet's hook and probes come from the node address (NODE_IP), which
 * the drainer's default allow-list admits, with the pod on its own address (pod 127.0.0.4, node 127.0.0.5).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../../src/config';
import { computePlan } from '../../../src/plan';
import { validate } from '../../helpers/k8s-schemas';
import type { ConfigMap, Deployment, Manifest } from '../../helpers/manifest';
import type { ManifestSource } from './manifest';
import { describeRollOut, expectCleanVerifiedRollOut, expectShippedOrder, rollOut, stackForFile } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '..', '..', '..');
const FIXTURE = 'test/e2e/stack/fixtures/demo-deployment.yaml';
const RATE = 100;

// The real CLI, as a platform team runs it (built by `npm run build`, like every stack test's drainer).
const cli = execFileSync(process.execPath, [resolve(ROOT, 'dist/main.js'), 'inject', '-f', resolve(ROOT, FIXTURE)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const INJECTED_FILE = join(mkdtempSync(join(tmpdir(), 'injected-pod-')), 'demo-deployment.injected.yaml');
writeFileSync(INJECTED_FILE, cli);
const objects = YAML.parseAllDocuments(cli).map((d) => d.toJSON() as Manifest);
const deployment = objects.find((o) => o.kind === 'Deployment') as Deployment;
const INJECTED_GRACE = Number(deployment.spec.template.spec.terminationGracePeriodSeconds);

// The stack runs the pod with the grace period the CLI wrote (no substitution of it).
const suite = stackForFile({ demos: 2, manifest: INJECTED_FILE as ManifestSource, podIp: '127.0.0.4', nodeIp: '127.0.0.5', gracePeriodSeconds: INJECTED_GRACE });

afterEach(() => suite.stopLoads());

test("the CLI's grace period is eureka-drainer plan's for the fixture's values, raised from the default 30 s", () => {
  const spec = deployment.spec.template.spec;
  const drainer = spec.initContainers!.find((c) => c.name === 'eureka-drainer')!;
  const configMap = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'demo-drainer') as ConfigMap).data;
  const appEnv = Object.fromEntries(spec.containers[0]!.env!.map((e) => [e.name, e.value]));
  const plan = computePlan(parseConfig({ ...configMap, ...appEnv }, { requireTarget: false }).timings);
  expect(INJECTED_GRACE).toBe(Math.ceil(plan.requiredGraceMs / 1000));
  expect(INJECTED_GRACE).toBeGreaterThan(30);
  expect(drainer.env!.find((e) => e.name === 'DRAINER_GRACE_PERIOD_SECONDS')!.value).toBe(String(INJECTED_GRACE));
  expect(spec.containers[0]!.lifecycle).toEqual({ preStop: { httpGet: { path: '/prestop', port: 8787 } } });
  // The CLI's output is valid against the Kubernetes schemas (kubernetes-models; ESM-only, so its own process).
  expect(validate(objects)).toEqual([
    { kind: 'ConfigMap', name: 'demo-drainer', ok: true },
    { kind: 'Deployment', name: 'demo', ok: true },
  ]);
});

test('a roll-out of the injected pod under load fails no request and drains verified', async () => {
  const s = suite.stack();
  const [drained, other] = s.instances as [DemoInstance, DemoInstance];
  const pod = drained.pod!;
  // The pod the kubelet runs is the injected one.
  expect(pod.source).toBe(INJECTED_FILE);
  expect(pod.sidecar).toBe('native');
  expect(pod.manifestGraceSeconds).toBe(INJECTED_GRACE);
  expect(pod.terminationGracePeriodSeconds).toBe(INJECTED_GRACE);
  expect(pod.app.preStop).toEqual({ path: '/prestop', port: 8787, headers: {} });
  expect(pod.drainer.preStop).toBeUndefined();
  expect(pod.drainer.startupProbe?.path).toBe('/healthz');
  expect(pod.drainer.env.DRAINER_TOKEN).toBeUndefined();
  expect(pod.drainer.env.NODE_IP).toBe('127.0.0.5');
  // Only addresses and the scaled app shutdown are substituted; never the grace period, the hooks or the plan's cache terms.
  expect(Object.keys(pod.substituted).sort()).toEqual(['DRAINER_APP_PORT', 'DRAINER_APP_SHUTDOWN_SECONDS', 'DRAINER_PORT', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', 'NODE_IP', 'POD_IP', 'POD_NAME']);

  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(drained.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);
  const started = Date.now();
  const roll = await rollOut(drained, { stack: s });
  const rollMs = Date.now() - started;
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  process.stdout.write(`eureka-drainer inject -f ${FIXTURE} → ${INJECTED_FILE} (terminationGracePeriodSeconds ${INJECTED_GRACE})\n`);
  process.stdout.write(describeRollOut('injected native pod', drained, roll, load));
  process.stdout.write(`  substituted from the injected YAML: ${JSON.stringify(pod.substituted)}\n`);
  process.stdout.write(`  order (ms from the start): ${JSON.stringify(expectShippedOrder(roll))}; termination ${rollMs} ms\n`);
  process.stdout.write(`  load: ${JSON.stringify({ sent: result.sent, ok: result.ok, failed: result.failed, rate: result.achievedRate, latencyMs: result.latencyMs })}\n`);

  expectCleanVerifiedRollOut(result, roll, drained);
  const { record } = roll;
  expect(load.stats(drained.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(load.stats(other.instanceId)!.lastServedAt).toBeGreaterThan(record.appExitedAt!);
  expect(await s.liveOnBoth(drained.instanceId)).toEqual([null, null]);
});
