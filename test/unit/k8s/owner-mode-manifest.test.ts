import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../../src/config';
import { computePlan } from '../../../src/plan';
import { podFromManifest, type ManifestSource } from '../../e2e/stack/manifest';
import { one, type Manifest } from '../../helpers/manifest';

/**
 * k8s/owner-mode.yaml is a complete example (schema-checked with the others by test/unit/k8s.test.ts): the
 * drainer's env is a valid owner-mode configuration whose plan fits the pod's grace period, the hooks carry the
 * drainer's own token (declared once, a YAML anchor), and the Downward API gives the drainer what it registers. The stack test
 * (test/e2e/stack/owner-mode.test.ts) runs this pod with only addresses and timings substituted.
 */
const SOURCE = 'k8s/owner-mode.yaml' as ManifestSource;
const root = resolve(__dirname, '..', '..', '..');
const docs = YAML.parseAllDocuments(readFileSync(resolve(root, SOURCE), 'utf8')).map((d) => d.toJSON() as Manifest);
const deployment = one(docs, 'Deployment');
const spec = deployment.spec.template.spec;
const drainerSpec = spec.containers.find((c) => String(c.image).includes('eureka-drainer'))!;
// The token is declared once in the Deployment (a YAML anchor); the drainer's env entry carries it.
const token = drainerSpec.env!.find((e) => e.name === 'DRAINER_TOKEN')!.value!;
const pod = podFromManifest(SOURCE, {
  podIp: '10.1.2.3',
  nodeIp: '10.0.0.9',
  podName: 'catalog-7d9f-abcde',
  eurekaUrls: 'http://eureka-0.eureka:8761/eureka/,http://eureka-1.eureka:8761/eureka/',
  appPort: 3000,
  appName: 'catalog',
  graceSeconds: spec.terminationGracePeriodSeconds!,
  env: {},
});

test('the drainer is a classic sidecar in owner mode next to one app container', () => {
  expect(pod.sidecar).toBe('classic');
  expect(pod.drainer.env.DRAINER_MODE).toBe('owner');
  expect(pod.app.name).toBe('app');
});

test('its env is a valid owner-mode configuration: the instance it registers comes from the Downward API', () => {
  const config = parseConfig(pod.drainer.env, { readFile: () => '' });
  expect(config.mode).toBe('owner');
  expect(config.owner).toMatchObject({
    instanceId: 'catalog-7d9f-abcde:catalog:3000',
    app: 'CATALOG',
    vipAddress: 'catalog',
    ipAddr: '10.1.2.3',
    hostName: '10.1.2.3',
    port: 3000,
    healthUrl: 'http://127.0.0.1:3000/health',
    healthCheckUrl: 'http://10.1.2.3:3000/health',
    leaseRenewalSeconds: 30,
    leaseDurationSeconds: 90,
    metadata: { zone: 'zone-a', runtime: 'nodejs' },
  });
  for (const [name, field] of [['POD_IP', 'status.podIP'], ['POD_NAME', 'metadata.name'], ['NODE_IP', 'status.hostIP']] as const) {
    expect(drainerSpec.env!.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath).toBe(field);
  }
});

test('the plan fits terminationGracePeriodSeconds, which DRAINER_GRACE_PERIOD_SECONDS repeats', () => {
  const config = parseConfig(pod.drainer.env, { readFile: () => '' });
  const plan = computePlan(config.timings);
  expect(Number(pod.drainer.env.DRAINER_GRACE_PERIOD_SECONDS)).toBe(spec.terminationGracePeriodSeconds);
  expect(plan.fits).toBe(true);
});

test("the app's preStop drains through /prestop, the drainer's own joins it, both with the drainer's own token", () => {
  expect(pod.app.preStop).toEqual({ path: '/prestop', port: 8787, headers: { 'X-Drainer-Token': token } });
  expect(pod.drainer.preStop).toEqual({ path: '/prestop/join', port: 8787, headers: { 'X-Drainer-Token': token } });
  expect(pod.drainer.env.DRAINER_TOKEN).toBe(token);
  expect(pod.drainer.readinessProbe?.path).toBe('/readyz');
  expect(pod.drainer.livenessProbe?.path).toBe('/healthz');
  expect(pod.app.readinessProbe?.path).toBe('/health');
  for (const c of spec.containers) expect(c.resources?.requests).toBeDefined();
});
