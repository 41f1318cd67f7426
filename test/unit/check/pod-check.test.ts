import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../../src/config';
import { REPLICATION_SETTLE_MS } from '../../../src/drain/replication-settle';
import { computePlan } from '../../../src/plan';
import { checkPod, configMapsToRead, type PodCheck, type PodContext, type ProblemKind } from '../../../src/check/pod-check';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';
import { appOf, classicPod, drainerOf, FIXTURE_NAMESPACE, nativePod, OPTED_IN_LABELS, setEnv, uninjectedPod } from './pods';
import { ofKind, one, type Manifest, type Pod, type Probe, type StringMap } from '../../helpers/manifest';

const ROOT = join(__dirname, '..', '..', '..');
const OPTED_IN: PodContext = { namespaceLabels: OPTED_IN_LABELS, configMaps: {}, image: DEFAULT_IMAGE };
const PLAIN: PodContext = { namespaceLabels: { 'kubernetes.io/metadata.name': FIXTURE_NAMESPACE }, configMaps: {}, image: DEFAULT_IMAGE };

const kinds = (check: PodCheck | undefined): ProblemKind[] => (check ? check.problems.map((p) => p.kind) : []);
const messages = (check: PodCheck | undefined): string => (check ? check.problems.map((p) => p.message).join('\n') : '');
function changed(pod: () => Pod, change: (pod: Pod) => void): Pod {
  const p = pod();
  change(p);
  return p;
}

describe('pods with the drainer, as injected', () => {
  test.each([
    ['native', nativePod],
    ['classic', classicPod],
  ] as const)('%s: no problem, in an opted-in namespace or not', (drainer, pod) => {
    expect(checkPod(pod(), OPTED_IN)).toEqual({ namespace: FIXTURE_NAMESPACE, name: `orders-${drainer}`, coverage: 'namespace', drainer, problems: [], notes: [] });
    expect(checkPod(pod(), PLAIN)).toMatchObject({ coverage: 'has-drainer', drainer, problems: [] });
    // Namespace labels that could not be read: the pod is still checked, for carrying the drainer.
    expect(checkPod(pod(), { ...OPTED_IN, namespaceLabels: undefined })).toMatchObject({ coverage: 'has-drainer', problems: [] });
  });

  test('DRAINER_POD_DEADLINE=true is no settings problem: the kubelet gives the API address and POD_NAME at start', () => {
    expect(kinds(checkPod(changed(nativePod, (p) => setEnv(drainerOf(p), 'DRAINER_POD_DEADLINE', 'true')), OPTED_IN))).toEqual([]);
  });
});

describe('pods without the drainer', () => {
  test('opted-in namespace, a pod the webhook would inject: created without it (webhook absent, down or untrusted)', () => {
    const check = checkPod(uninjectedPod(), OPTED_IN);
    expect(check).toMatchObject({ coverage: 'namespace', drainer: 'none', problems: [{ kind: 'no-drainer' }] });
    expect(messages(check)).toBe(
      `namespace ${FIXTURE_NAMESPACE} is labelled eureka-drainer/inject=enabled but the pod has no drainer: it was created while the webhook was not installed, down or not trusted by the apiserver (failurePolicy: Ignore); recreate it (kubectl rollout restart)`,
    );
  });

  test('a pod the webhook refuses: its reason', () => {
    const check = checkPod(changed(uninjectedPod, (p) => delete appOf(p).env), OPTED_IN);
    expect(kinds(check)).toEqual(['no-drainer']);
    expect(messages(check)).toMatch(/the webhook refuses it \(the drainer would not know the Eureka servers: no DRAINER_EUREKA_URLS or EUREKA_CLIENT_SERVICEURL_DEFAULTZONE/);
  });

  test('a pod labelled eureka-drainer/inject=enabled in another namespace (the by-pod webhook entry)', () => {
    const check = checkPod(changed(uninjectedPod, (p) => (p.metadata.labels!['eureka-drainer/inject'] = 'enabled')), PLAIN);
    expect(check).toMatchObject({ coverage: 'pod', problems: [{ kind: 'no-drainer' }] });
    expect(messages(check)).toMatch(/^the pod is labelled eureka-drainer\/inject=enabled but the pod has no drainer/);
  });

  test.each<[string, Pod, PodContext]>([
    ['a namespace that did not opt in', uninjectedPod(), PLAIN],
    ['namespace labels not readable', uninjectedPod(), { ...OPTED_IN, namespaceLabels: undefined }],
    ['opted out by the pod label', changed(uninjectedPod, (p) => (p.metadata.labels!['eureka-drainer/inject'] = 'disabled')), OPTED_IN],
    ['opted out by the pod annotation', changed(uninjectedPod, (p) => (p.metadata.annotations = { 'eureka-drainer/inject': 'disabled' })), OPTED_IN],
    ['kube-system, labelled', changed(uninjectedPod, (p) => (p.metadata.namespace = 'kube-system')), OPTED_IN],
    ["the webhook's own namespace, labelled", changed(uninjectedPod, (p) => (p.metadata.namespace = 'eureka-drainer-system')), OPTED_IN],
    ['a finished pod (Succeeded)', changed(uninjectedPod, (p) => (p.status!.phase = 'Succeeded')), OPTED_IN],
    ['a failed pod', changed(uninjectedPod, (p) => (p.status!.phase = 'Failed')), OPTED_IN],
  ])('not covered: %s', (_case, pod, context) => {
    expect(checkPod(pod, context)).toBeUndefined();
  });
});

describe('the grace period: the drainer plan against terminationGracePeriodSeconds', () => {
  test('shorter than the plan needs (both lowered together)', () => {
    const pod = changed(nativePod, (p) => {
      p.spec.terminationGracePeriodSeconds = 60;
      setEnv(drainerOf(p), 'DRAINER_GRACE_PERIOD_SECONDS', '60');
    });
    const check = checkPod(pod, OPTED_IN);
    expect(kinds(check)).toEqual(['grace']);
    expect(messages(check)).toBe(
      'terminationGracePeriodSeconds 60 is shorter than the 138s the drain needs (drain 105.5s + app shutdown + margin); set it and DRAINER_GRACE_PERIOD_SECONDS to at least 138',
    );
  });

  test('exactly what the plan needs fits (the start-up rule: required <= grace)', () => {
    expect(kinds(checkPod(nativePod(), OPTED_IN))).toEqual([]);
    expect(nativePod().spec.terminationGracePeriodSeconds).toBe(138);
  });

  test('DRAINER_GRACE_PERIOD_SECONDS differs from the pod: both ways', () => {
    const longer = checkPod(changed(nativePod, (p) => (p.spec.terminationGracePeriodSeconds = 600)), OPTED_IN);
    expect(messages(longer)).toBe('DRAINER_GRACE_PERIOD_SECONDS is 138 but terminationGracePeriodSeconds is 600: the drainer cuts its drain shorter than it has to; set both to the same value');
    const shorter = checkPod(changed(nativePod, (p) => setEnv(drainerOf(p), 'DRAINER_GRACE_PERIOD_SECONDS', '300')), OPTED_IN);
    expect(messages(shorter)).toBe('DRAINER_GRACE_PERIOD_SECONDS is 300 but terminationGracePeriodSeconds is 138: the drainer counts on time the kubelet will not give; set both to the same value');
    const unset = checkPod(changed(nativePod, (p) => (drainerOf(p).env = drainerOf(p).env!.filter((e) => e.name !== 'DRAINER_GRACE_PERIOD_SECONDS'))), OPTED_IN);
    expect(messages(unset)).toMatch(/^DRAINER_GRACE_PERIOD_SECONDS is unset \(30\) but terminationGracePeriodSeconds is 138: the drainer cuts its drain shorter/);
  });

  test("a ConfigMap's values count; one that could not be read is a note, and its DRAINER_GRACE_PERIOD_SECONDS is not guessed", () => {
    const pod = changed(nativePod, (p) => (drainerOf(p).envFrom = [{ configMapRef: { name: 'orders-drainer' } }]));
    const read = checkPod(pod, { ...OPTED_IN, configMaps: { 'orders-drainer': { DRAINER_TAIL_SECONDS: '60' } } });
    expect(kinds(read)).toEqual(['grace']);
    expect(messages(read)).toMatch(/^terminationGracePeriodSeconds 138 is shorter than the 188s the drain needs/);
    expect(read!.notes).toEqual([]);
    const withoutGrace = changed(() => pod, (p) => (drainerOf(p).env = drainerOf(p).env!.filter((e) => e.name !== 'DRAINER_GRACE_PERIOD_SECONDS')));
    const unread = checkPod(withoutGrace, OPTED_IN);
    expect(unread).toMatchObject({ problems: [], notes: ['ConfigMap orders-drainer could not be read: its values were taken as the defaults'] });
  });

  test('settings the drainer would refuse at start: settings, and no grace verdict', () => {
    const check = checkPod(changed(nativePod, (p) => setEnv(drainerOf(p), 'DRAINER_TAIL_SECONDS', 'ten')), OPTED_IN);
    expect(kinds(check)).toEqual(['settings']);
    expect(messages(check)).toMatch(/^the drainer would refuse its settings: DRAINER_TAIL_SECONDS .*"ten"/);
  });

  test('unset terminationGracePeriodSeconds is the default 30', () => {
    const check = checkPod(changed(nativePod, (p) => delete p.spec.terminationGracePeriodSeconds), OPTED_IN);
    expect(messages(check)).toMatch(/^terminationGracePeriodSeconds 30 is shorter than the 138s/);
  });
});

describe('preStop: the app calls the drainer', () => {
  const withHook = (hook: Probe | undefined): Pod =>
    changed(nativePod, (p) => {
      if (hook === undefined) delete appOf(p).lifecycle;
      else appOf(p).lifecycle = { preStop: hook };
    });
  test.each<[string, Probe | undefined, string | undefined]>([
    ['the injected hook', { httpGet: { path: '/prestop', port: 8787, scheme: 'HTTP' } }, undefined],
    ["the examples' hook with a token header", { httpGet: { path: '/prestop', port: 8787, httpHeaders: [{ name: 'X-Drainer-Token', value: 'x'.repeat(32) }] } }, undefined],
    ['the port as a string', { httpGet: { path: '/prestop', port: '8787' } }, undefined],
    ['loopback as the host', { httpGet: { path: '/prestop', port: 8787, host: '127.0.0.1' } }, undefined],
    ['no hook', undefined, "app container app has no preStop: the kubelet stops it at once, while callers still send it requests"],
    ['a sleep', { exec: { command: ['sh', '-c', 'sleep 20'] } }, "app container app's preStop (exec sh -c sleep 20) does not call the drainer's /prestop on port 8787"],
    ['the sleep action', { sleep: { seconds: 20 } }, "app container app's preStop (sleep 20s) does not call the drainer's /prestop on port 8787"],
    ["the app's own port", { httpGet: { path: '/prestop', port: 8080 } }, "app container app's preStop (httpGet /prestop on port 8080) does not call the drainer's /prestop on port 8787"],
    ['another path', { httpGet: { path: '/drain', port: 8787 } }, "app container app's preStop (httpGet /drain on port 8787) does not call the drainer's /prestop on port 8787"],
    ['another host', { httpGet: { path: '/prestop', port: 8787, host: 'drainer.example' } }, "app container app's preStop (httpGet /prestop on port 8787 of drainer.example) does not call the drainer's /prestop on port 8787"],
    ['HTTPS (the drainer serves HTTP)', { httpGet: { path: '/prestop', port: 8787, scheme: 'HTTPS' } }, "app container app's preStop (httpGet /prestop on port 8787) does not call the drainer's /prestop on port 8787"],
    ['a named port the app does not declare', { httpGet: { path: '/prestop', port: 'drainer' } }, "app container app's preStop (httpGet /prestop on port drainer) does not call the drainer's /prestop on port 8787"],
  ])('%s', (_case, hook, problem) => {
    const check = checkPod(withHook(hook), OPTED_IN);
    expect(check!.problems).toEqual(problem === undefined ? [] : [{ kind: 'prestop', message: problem }]);
  });

  test('a named port is looked up in the app container: fine when it is the drainer\'s', () => {
    const pod = withHook({ httpGet: { path: '/prestop', port: 'drain' } });
    appOf(pod).ports!.push({ name: 'drain', containerPort: 8787, protocol: 'TCP' });
    expect(kinds(checkPod(pod, OPTED_IN))).toEqual([]);
  });

  test("the drainer's port is DRAINER_PORT's", () => {
    const pod = changed(nativePod, (p) => setEnv(drainerOf(p), 'DRAINER_PORT', '9797'));
    expect(messages(checkPod(pod, OPTED_IN))).toBe("app container app's preStop (httpGet /prestop on port 8787) does not call the drainer's /prestop on port 9797");
  });

  test('several containers: the annotation says which is the app; without it, any container calling the drainer will do', () => {
    const two = changed(nativePod, (p) => p.spec.containers.push({ name: 'proxy', image: 'envoy', lifecycle: { preStop: { sleep: { seconds: 5 } } } }));
    expect(kinds(checkPod(two, OPTED_IN))).toEqual([]);
    const named = changed(() => structuredClone(two), (p) => (p.metadata.annotations!['eureka-drainer/app-container'] = 'proxy'));
    expect(messages(checkPod(named, OPTED_IN))).toBe("app container proxy's preStop (sleep 5s) does not call the drainer's /prestop on port 8787");
    const missing = changed(() => structuredClone(two), (p) => (p.metadata.annotations!['eureka-drainer/app-container'] = 'web'));
    expect(messages(checkPod(missing, OPTED_IN))).toBe('eureka-drainer/app-container names "web", but the containers are app, proxy');
    const none = changed(() => structuredClone(two), (p) => delete appOf(p).lifecycle);
    expect(messages(checkPod(none, OPTED_IN))).toBe("none of the containers app, proxy has a preStop that calls the drainer's /prestop on port 8787 (eureka-drainer/app-container says which is the app)");
  });

  test('a classic drainer needs its own /prestop/join hook', () => {
    const pod = changed(classicPod, (p) => (drainerOf(p).lifecycle = { preStop: { httpGet: { path: '/prestop', port: 8787 } } }));
    expect(messages(checkPod(pod, OPTED_IN))).toBe(
      'the drainer runs as a classic sidecar and its preStop (httpGet /prestop on port 8787) is not GET /prestop/join on port 8787: it is stopped while the drain runs',
    );
    expect(kinds(checkPod(changed(classicPod, (p) => delete drainerOf(p).lifecycle), OPTED_IN))).toEqual(['prestop']);
  });
});

describe("the image: this release's unless --image says otherwise", () => {
  const withImage = (image: string): Pod => changed(nativePod, (p) => (drainerOf(p).image = image));
  test.each<[string, string, PodContext, boolean]>([
    ['the release', DEFAULT_IMAGE, OPTED_IN, true],
    ['the release pinned by digest', `${DEFAULT_IMAGE}@sha256:${'a'.repeat(64)}`, OPTED_IN, true],
    ['an older release', 'ghcr.io/eureka-drainer/eureka-drainer:0.0.9', OPTED_IN, false],
    ['a mirror', 'registry.example.com/eureka-drainer:0.1.0', OPTED_IN, false],
    ['a mirror named by --image', 'registry.example.com/eureka-drainer:0.1.0', { ...OPTED_IN, image: 'registry.example.com/eureka-drainer:0.1.0' }, true],
    ['the release when --image names a mirror', DEFAULT_IMAGE, { ...OPTED_IN, image: 'registry.example.com/eureka-drainer:0.1.0' }, false],
  ])('%s', (_case, image, context, ok) => {
    const check = checkPod(withImage(image), context);
    expect(check!.problems).toEqual(ok ? [] : [{ kind: 'image', message: `the drainer runs ${image}, not ${context.image}` }]);
  });
});

test('one pod can have every problem at once, in a fixed order', () => {
  const pod = changed(nativePod, (p) => {
    p.spec.terminationGracePeriodSeconds = 10;
    setEnv(drainerOf(p), 'DRAINER_GRACE_PERIOD_SECONDS', '10');
    delete appOf(p).lifecycle;
    drainerOf(p).image = 'ghcr.io/eureka-drainer/eureka-drainer:0.0.9';
  });
  expect(kinds(checkPod(pod, OPTED_IN))).toEqual(['grace', 'prestop', 'image']);
});

describe('the shipped examples pass the check as they are', () => {
  // Their pod templates as the apiserver would make pods of them (namespace and name set).
  test.each(['k8s/native-sidecar.yaml', 'k8s/classic-sidecar.yaml', 'k8s/owner-mode.yaml'])('%s', (file) => {
    const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJSON() as Manifest);
    const deployment = one(docs, 'Deployment');
    const configMaps = Object.fromEntries(ofKind(docs, 'ConfigMap').map((d): [string, StringMap] => [d.metadata.name!, d.data]));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...deployment.spec.template.metadata, namespace: 'shop', name: 'orders-1' }, spec: deployment.spec.template.spec };
    const check = checkPod(pod, { ...PLAIN, configMaps });
    expect(check).toMatchObject({ coverage: 'has-drainer', problems: [] });
  });
});

test('configMapsToRead: the ConfigMaps the drainers read, by namespace (not the apps\')', () => {
  const pod = changed(nativePod, (p) => {
    drainerOf(p).envFrom = [{ configMapRef: { name: 'orders-env' } }, { secretRef: { name: 'creds' } }];
    drainerOf(p).env!.push({ name: 'DRAINER_TAIL_SECONDS', valueFrom: { configMapKeyRef: { name: 'orders-drainer', key: 'tail' } } });
    appOf(p).envFrom = [{ configMapRef: { name: 'app-only' } }];
  });
  expect(configMapsToRead([pod, uninjectedPod(), nativePod()])).toEqual(new Map([[FIXTURE_NAMESPACE, new Set(['orders-env', 'orders-drainer'])]]));
});

test("owner mode: the plan has the replication settle, as the drainer's own start-up plan (main.ts) has", () => {
  const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, 'k8s/owner-mode.yaml'), 'utf8')).map((d) => d.toJSON() as Manifest);
  const template = one(docs, 'Deployment').spec.template;
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, namespace: 'shop', name: 'catalog-1' }, spec: { ...template.spec, terminationGracePeriodSeconds: 1 } };
  const drainer = drainerOf(pod);
  const env = Object.fromEntries(drainer.env!.filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
  const withoutSettle = computePlan(parseConfig({ ...env, POD_IP: '192.0.2.2', POD_NAME: 'catalog-1' }, { requireTarget: false }).timings).requiredGraceMs;
  const required = Math.ceil((withoutSettle + REPLICATION_SETTLE_MS) / 1000);
  expect(required).toBeGreaterThan(Math.ceil(withoutSettle / 1000));
  expect(messages(checkPod(pod, PLAIN))).toMatch(new RegExp(`^terminationGracePeriodSeconds 1 is shorter than the ${required}s the drain needs`));
});
