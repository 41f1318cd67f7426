/**
 * Issue 22 B, the injected drainer's values on a real cluster: a release of charts/eureka-drainer with non-default
 * drainer.port, drainer.resources, drainer.env and drainer.token (a Secret in the release namespace) makes the
 * real apiserver's pods carry them, a pod's eureka-drainer/port annotation still wins, and the drainer it starts
 * takes the token the app's preStop header carries (and refuses a call without it).
 *
 * The webhook is the chart's default image, the one run-tests.sh builds from this checkout (`npm run image`) and imports
 * as ghcr.io/eureka-drainer/eureka-drainer:<version>, so it is this commit's code. Shared with other tests: the
 * release's MutatingWebhookConfiguration is named after the release, selects only namespaces labelled
 * edk8s-values/inject=enabled (the by-pod entry is off), and every namespace here starts with values-.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CHART, type Run } from '../../helpers/helm';
import { helmIn as helmInNamespace, waitReadyEndpoint } from './support/helm-release';
import { createPod, DRAINER, injectsNow, lightPod, waitInjecting } from './support/injection';
import { assertInCluster, createNamespace, deleteNamespace, kubectl, kubectlRaw, waitPodReady, type Json } from './support/kube';
import { VERSION } from '../../../src/version';
import { recordResult } from './support/results';

const RELEASE = 'values-e2e';
const NAMESPACE = 'values-drainer';
const LABELLED = 'values-apps';
const OPT_IN = { key: 'edk8s-values/inject', value: 'enabled' };
const CONFIGURATION = `${RELEASE}-eureka-drainer`;
const DEPLOYMENT = `${RELEASE}-eureka-drainer-webhook`;
const IMAGE = `ghcr.io/eureka-drainer/eureka-drainer:${VERSION}`;
const TOKEN_SECRET = 'drainer-token';
const TOKEN = randomBytes(24).toString('hex');
const PORT = 9123;
const RESOURCES = { requests: { cpu: '20m', memory: '100Mi' }, limits: { memory: '200Mi' } };
const ENV = [
  { name: 'DRAINER_TAIL_SECONDS', value: '4' },
  { name: 'DRAINER_LOG_LEVEL', value: 'debug' },
];

const VALUES: Record<string, unknown> = {
  'image.pullPolicy': 'Never',
  'webhook.replicas': 1,
  'webhook.byNamespace.namespaceSelector': { matchExpressions: [{ key: OPT_IN.key, operator: 'In', values: [OPT_IN.value] }] },
  'webhook.byPod.enabled': false,
  'drainer.port': PORT,
  'drainer.resources': RESOURCES,
  'drainer.env': ENV,
  'drainer.token': { secretName: TOKEN_SECRET, key: 'value' },
};

const obj = (v: unknown): Json => (v ?? {}) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

const helmIn = (args: readonly string[], values: Record<string, unknown> = {}): Run => helmInNamespace(NAMESPACE, args, values);

function drainerIn(pod: Json): Json {
  const spec = obj(pod['spec']);
  const found = [...arr(spec['initContainers']), ...arr(spec['containers'])].filter((c) => c['name'] === DRAINER);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const appOf = (pod: Json): Json => arr(obj(pod['spec'])['containers']).find((c) => c['name'] === 'app')!;
const envOf = (container: Json): Record<string, unknown> => Object.fromEntries(arr(container['env']).map((e) => [e['name'] as string, e['value'] ?? e['valueFrom']]));

beforeAll(async () => {
  assertInCluster();
  // Leftovers of an earlier run of this file only (these names are this file's).
  helmIn(['uninstall', RELEASE, '--ignore-not-found', '--wait']);
  await kubectlRaw(['delete', 'mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
  await Promise.all([createNamespace(NAMESPACE), createNamespace(LABELLED)]);
  await kubectl(['label', 'namespace', LABELLED, `${OPT_IN.key}=${OPT_IN.value}`]);
  await kubectl(['create', 'secret', 'generic', TOKEN_SECRET, '-n', NAMESPACE, `--from-literal=value=${TOKEN}`]);
}, 300_000);

afterAll(async () => {
  helmIn(['uninstall', RELEASE, '--ignore-not-found', '--wait']);
  await kubectlRaw(['delete', 'pods', '--all', '-n', LABELLED, '--grace-period=0', '--force']);
  await Promise.all([NAMESPACE, LABELLED].map((ns) => deleteNamespace(ns)));
}, 300_000);

test('an installed release with non-default drainer values injects a drainer with that port, resources, env and token', async () => {
  expect(helmIn(['install', RELEASE, CHART, '--wait', '--timeout', '150s'], VALUES).status).toBe(0);
  await waitReadyEndpoint(NAMESPACE, DEPLOYMENT);
  await waitInjecting(LABELLED, true);

  const pod = await createPod(LABELLED, lightPod('tuned'));
  const drainer = drainerIn(pod);
  expect(drainer['image']).toBe(IMAGE);
  expect(drainer['ports']).toEqual([{ name: 'drainer', containerPort: PORT, protocol: 'TCP' }]);
  expect(drainer['resources']).toEqual(RESOURCES);
  const env = envOf(drainer);
  expect(env).toMatchObject({ DRAINER_PORT: String(PORT), DRAINER_TAIL_SECONDS: '4', DRAINER_LOG_LEVEL: 'debug', DRAINER_TOKEN: TOKEN });
  // The plan reads the env default: Spring's 30.5 (the cache and its tick slack) + 30 + 35, the tail 4 (not 10), shutdown 30, margin 2, rounded up.
  expect(obj(pod['spec'])['terminationGracePeriodSeconds']).toBe(132);
  const preStop = obj(obj(appOf(pod)['lifecycle'])['preStop']);
  expect(preStop).toEqual({ httpGet: { path: '/prestop', port: PORT, scheme: 'HTTP', httpHeaders: [{ name: 'X-Drainer-Token', value: TOKEN }] } });

  // A pod's annotation still wins over the release's port.
  const annotated = drainerIn(await createPod(LABELLED, lightPod('annotated', {}, { 'eureka-drainer/port': '9200' })));
  expect(annotated['ports']).toEqual([{ name: 'drainer', containerPort: 9200, protocol: 'TCP' }]);

  // The drainer runs with those values and takes the hook's token: without it 401, with it past the guard (409: no drain to abort).
  const ready = await waitPodReady(LABELLED, 'tuned', 120_000);
  const abort = async (headers: Record<string, string>): Promise<number> => (await fetch(`http://${ready.podIP}:${PORT}/drain/abort`, { method: 'POST', headers })).status;
  const statuses = { withoutToken: await abort({}), withHookToken: await abort({ 'X-Drainer-Token': TOKEN }) };
  expect(statuses).toEqual({ withoutToken: 401, withHookToken: 409 });

  // The webhook's configuration line shows the token censored (the logger's redact paths), never what it is.
  const logs = await kubectl(['logs', `deployment/${DEPLOYMENT}`, '-n', NAMESPACE]);
  expect(logs).toContain('"token":"[redacted]"');
  expect(logs).not.toContain(TOKEN);
  expect(await injectsNow(LABELLED)).toBe(true);
  console.log(`values: drainer ${JSON.stringify({ image: drainer['image'], ports: drainer['ports'], resources: drainer['resources'] })}; abort ${JSON.stringify(statuses)}`);
  recordResult('helm: drainer values injected', { port: PORT, annotatedPort: 9200, resources: RESOURCES, env: ENV.map((e) => e.name), tokenFromSecret: true, grace: 131, ...statuses });
}, 400_000);
