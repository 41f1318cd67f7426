import { expect } from '@jest/globals';
import { parseConfig } from '../../../src/config';
import { computePlan } from '../../../src/plan';
import { VERSION } from '../../../src/version';
import { DEFAULTS, injectWorkload, type InjectContext, type InjectResult } from '../../../src/inject/inject';
import { appContainer, KINDS, podMetaOf, podSpecOf, podTemplate, validate, workloadOfKind } from './helpers';
import { containerNamed, type Container, type Manifest, type Probe } from '../../helpers/manifest';

const ctx: InjectContext = { defaults: DEFAULTS };
const ENABLED = { 'eureka-drainer/inject': 'enabled' };

function injected(result: InjectResult): { object: Manifest; changes: readonly string[] } {
  if (result.kind !== 'injected') throw new Error(`expected injected, got ${result.kind}: ${result.reason}`);
  return { object: result.object as Manifest, changes: result.changes };
}

const drainerOf = (object: Manifest): Container => containerNamed(podSpecOf(object), 'eureka-drainer');

function envOf(container: Container): Record<string, unknown> {
  return Object.fromEntries(container.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('every workload kind', () => {
  const inputs = KINDS.map((kind) => workloadOfKind(kind));
  const outputs = inputs.map((input) => injected(injectWorkload(input, ctx)).object);

  test('the inputs and the injected outputs are valid against the Kubernetes schemas', () => {
    const results = validate([...inputs, ...outputs]);
    expect(results.map((r) => `${r.kind} ${r.ok ? 'ok' : r.error}`)).toEqual([...KINDS, ...KINDS].map((k) => `${k} ok`));
    // The check can fail: a broken injected Deployment is rejected.
    const broken = structuredClone(outputs[1]!);
    podSpecOf(broken).initContainers![0]!.ports![0]!.containerPort = 'not a port' as unknown as number;
    expect(validate([broken])[0]!.ok).toBe(false);
  });

  test.each(KINDS.map((k, i) => [k, i] as const))('%s: a native drainer, the app preStop, the grace period, the marker', (_kind, i) => {
    const out = outputs[i]!;
    const spec = podSpecOf(out);
    expect(spec.containers).toHaveLength(1);
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['eureka-drainer']);
    expect(spec.initContainers![0]!.restartPolicy).toBe('Always');
    expect(spec.containers[0]!.lifecycle).toEqual({ preStop: { httpGet: { path: '/prestop', port: 8787 } } });
    // Spring defaults: 30.5 (the cache and its tick slack) + 30 + 35 + tail 10 + shutdown 30 + margin 2, rounded up.
    expect(spec.terminationGracePeriodSeconds).toBe(138);
    const env = envOf(spec.initContainers![0]!);
    expect(env).toMatchObject({
      DRAINER_APP_PORT: '8080',
      DRAINER_GRACE_PERIOD_SECONDS: '138',
      SPRING_APPLICATION_NAME: 'orders',
      EUREKA_CLIENT_SERVICEURL_DEFAULTZONE: 'http://eureka-0.eureka:8761/eureka/,http://eureka-1.eureka:8761/eureka/',
      POD_IP: { fieldRef: { fieldPath: 'status.podIP' } },
      POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
      NODE_IP: { fieldRef: { fieldPath: 'status.hostIP' } },
    });
    expect(env).not.toHaveProperty('JAVA_OPTS');
    expect(env).not.toHaveProperty('DRAINER_TOKEN');
    expect(podMetaOf(out).annotations!['eureka-drainer/injected']).toBe(VERSION);
  });

  test.each(KINDS.map((k, i) => [k, i] as const))('%s: injecting the injected output changes nothing', (_kind, i) => {
    const out = outputs[i]!;
    const before = JSON.stringify(out);
    expect(injectWorkload(out, ctx)).toEqual({ kind: 'unchanged', reason: `already injected (eureka-drainer/injected: ${VERSION})` });
    expect(JSON.stringify(out)).toBe(before);
  });
});

test('pure: the input is not changed (a frozen input works) and the output shares nothing with it', () => {
  const input = deepFreeze(workloadOfKind('Deployment'));
  const snapshot = JSON.stringify(input);
  const out = injected(injectWorkload(input, ctx)).object;
  expect(JSON.stringify(input)).toBe(snapshot);
  podSpecOf(out).containers[0]!.env!.push({ name: 'X', value: 'y' });
  expect(JSON.stringify(input)).toBe(snapshot);
});

describe('opt-in and opt-out', () => {
  const deployment = (podAnnotations: Record<string, string>, own: Record<string, string> = {}): Manifest => {
    const d = workloadOfKind('Deployment', podTemplate(podAnnotations));
    d.metadata.annotations = own;
    return d;
  };
  test.each([
    ['pod template enabled, no namespace annotation', 'injected', ENABLED, {}, undefined],
    ['namespace enabled, pod template silent', 'injected', {}, {}, ENABLED],
    ['namespace enabled, pod template disabled', 'unchanged', { 'eureka-drainer/inject': 'disabled' }, {}, ENABLED],
    ['Deployment metadata enabled', 'injected', {}, ENABLED, undefined],
    ['Deployment enabled, pod template disabled', 'unchanged', { 'eureka-drainer/inject': 'disabled' }, ENABLED, undefined],
    ['namespace disabled, pod template enabled', 'injected', ENABLED, {}, { 'eureka-drainer/inject': 'disabled' }],
    ['nothing anywhere', 'unchanged', {}, {}, undefined],
  ] as const)('%s → %s', (_label, expected, pod, own, ns) => {
    const result = injectWorkload(deployment(pod, own), { ...ctx, ...(ns ? { namespaceAnnotations: ns } : {}) });
    expect(result.kind).toBe(expected);
  });

  test('the reasons name where the decision came from', () => {
    expect(injectWorkload(deployment({ 'eureka-drainer/inject': 'disabled' }), { ...ctx, namespaceAnnotations: ENABLED })).toEqual({
      kind: 'unchanged',
      reason: 'opted out (eureka-drainer/inject: disabled on the pod template)',
    });
    expect(injectWorkload(deployment({}), ctx)).toEqual({
      kind: 'unchanged',
      reason: 'not opted in (no eureka-drainer/inject annotation on the pod template, the Deployment or its namespace)',
    });
  });

  test('any other value is refused, with the value shown', () => {
    expect(injectWorkload(deployment({ 'eureka-drainer/inject': 'true' }), ctx)).toEqual({
      kind: 'refused',
      reason: 'eureka-drainer/inject must be enabled or disabled, got "true" (pod template)',
    });
  });

  test('a misspelt eureka-drainer/ annotation is refused rather than ignored', () => {
    const result = injectWorkload(deployment({ ...ENABLED, 'eureka-drainer/app-contianer': 'app' }), ctx);
    expect(result.kind).toBe('refused');
    expect((result as { reason: string }).reason).toContain('unknown annotation eureka-drainer/app-contianer (pod template)');
  });
});

describe('the app container', () => {
  const twoContainers = (annotations: Record<string, string>): Manifest =>
    workloadOfKind('Deployment', { metadata: { annotations }, spec: { containers: [{ name: 'proxy', image: 'envoy:1', ports: [{ containerPort: 15001 }] }, appContainer()] } });

  test('several containers and no eureka-drainer/app-container: refused', () => {
    expect(injectWorkload(twoContainers(ENABLED), ctx)).toEqual({ kind: 'refused', reason: '2 containers (proxy, app) and no eureka-drainer/app-container annotation' });
  });

  test('eureka-drainer/app-container picks it: the preStop and the port are that container\'s', () => {
    const out = injected(injectWorkload(twoContainers({ ...ENABLED, 'eureka-drainer/app-container': 'app' }), ctx)).object;
    const [proxy, app] = podSpecOf(out).containers;
    expect(proxy!.lifecycle).toBeUndefined();
    expect(app!.lifecycle!.preStop!.httpGet).toEqual({ path: '/prestop', port: 8787 });
    expect(envOf(drainerOf(out)).DRAINER_APP_PORT).toBe('8080');
  });

  test('an app-container that does not exist is refused with the names there are', () => {
    expect(injectWorkload(twoContainers({ ...ENABLED, 'eureka-drainer/app-container': 'orders' }), ctx)).toEqual({
      kind: 'refused',
      reason: 'eureka-drainer/app-container names "orders", but the containers are proxy, app',
    });
  });

  test('no containerPort: eureka-drainer/app-port, else refused', () => {
    const noPort = (a: Record<string, string>): Manifest => workloadOfKind('Deployment', podTemplate(a, { containers: [appContainer({ ports: undefined })] }));
    expect(injectWorkload(noPort(ENABLED), ctx)).toEqual({ kind: 'refused', reason: 'app container app declares no containerPort; set eureka-drainer/app-port' });
    const out = injected(injectWorkload(noPort({ ...ENABLED, 'eureka-drainer/app-port': '9000' }), ctx)).object;
    expect(envOf(drainerOf(out)).DRAINER_APP_PORT).toBe('9000');
  });
});

describe('an existing preStop on the app', () => {
  const withHook = (preStop: Probe): Manifest => workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer({ lifecycle: { preStop, postStart: { exec: { command: ['true'] } } } })] }));

  test('is never replaced: refused, naming the hook', () => {
    const result = injectWorkload(withHook({ exec: { command: ['sh', '-c', 'sleep 95'] } }), ctx);
    expect(result.kind).toBe('refused');
    expect((result as { reason: string }).reason).toMatch(/^app container app already has a preStop hook \(\{"exec":\{"command":\["sh","-c","sleep 95"\]\}\}\); the drainer's preStop would replace it/);
  });

  test('a /prestop hook with a token header is not ours either (the injected drainer has no token)', () => {
    const result = injectWorkload(withHook({ httpGet: { path: '/prestop', port: 8787, httpHeaders: [{ name: 'X-Drainer-Token', value: 'change-me-to-a-long-random-token' }] } }), ctx);
    expect(result.kind).toBe('refused');
  });

  test('exactly ours is kept, and the other lifecycle handlers with it', () => {
    const out = injected(injectWorkload(withHook({ httpGet: { path: '/prestop', port: 8787 } }), ctx));
    expect(podSpecOf(out.object).containers[0]!.lifecycle).toEqual({ preStop: { httpGet: { path: '/prestop', port: 8787 } }, postStart: { exec: { command: ['true'] } } });
    expect(out.changes).toContain("app container app: already has the drainer's preStop (kept)");
  });
});

describe('the grace period', () => {
  const withConfigMap = (grace?: number): Manifest => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'orders-drainer' }, grace === undefined ? {} : { terminationGracePeriodSeconds: grace }));
    podSpecOf(d).containers[0]!.envFrom = [{ configMapRef: { name: 'orders-env' } }];
    return d;
  };
  const configMaps = {
    'orders-env': { EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '15', SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '20s', SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE: '45s' },
    'orders-drainer': { DRAINER_TAIL_SECONDS: '7', DRAINER_MARGIN_SECONDS: '3', DRAINER_GRACE_PERIOD_SECONDS: '60' },
  };
  const expectedSeconds = Math.ceil(computePlan(parseConfig({ ...configMaps['orders-env'], ...configMaps['orders-drainer'] }, { requireTarget: false }).timings).requiredGraceMs / 1000);

  test("is computePlan's requiredGraceMs for the ConfigMaps' values, and DRAINER_GRACE_PERIOD_SECONDS equals it", () => {
    // The server cache counts its interval and the tick's slack (30.5 s); the grace is rounded up to a whole second.
    expect(expectedSeconds).toBe(Math.ceil(30.5 + 15 + 20 + 7 + 45 + 3));
    const out = injected(injectWorkload(withConfigMap(), { ...ctx, configMaps }));
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(expectedSeconds);
    const drainer = drainerOf(out.object);
    expect(envOf(drainer).DRAINER_GRACE_PERIOD_SECONDS).toBe(String(expectedSeconds));
    expect(drainer.envFrom).toEqual([{ configMapRef: { name: 'orders-env' } }, { configMapRef: { name: 'orders-drainer' } }]);
    expect(out.changes).toContain(`DRAINER_GRACE_PERIOD_SECONDS=${expectedSeconds} (the ConfigMap's 60 is overridden: env beats envFrom)`);
  });

  test('is never lowered: a larger existing value is kept and repeated in DRAINER_GRACE_PERIOD_SECONDS', () => {
    const out = injected(injectWorkload(withConfigMap(600), { ...ctx, configMaps }));
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(600);
    expect(envOf(drainerOf(out.object)).DRAINER_GRACE_PERIOD_SECONDS).toBe('600');
    expect(out.changes).toContain(`terminationGracePeriodSeconds 600 kept (the plan needs drain 72.5s + app shutdown 45s + margin 3s = ${expectedSeconds}s)`);
  });

  test('a smaller existing value is raised', () => {
    const out = injected(injectWorkload(withConfigMap(40), { ...ctx, configMaps }));
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(expectedSeconds);
  });

  test('a ConfigMap it cannot see: Spring defaults, and the changes say so', () => {
    const out = injected(injectWorkload(withConfigMap(), ctx));
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(138);
    expect(out.changes).toEqual(expect.arrayContaining(["plan uses defaults for ConfigMap orders-env's values (not visible here)", "plan uses defaults for ConfigMap orders-drainer's values (not visible here)"]));
  });

  test('literal env values of the app count, envFrom ConfigMap values under them', () => {
    const d = withConfigMap();
    podSpecOf(d).containers[0]!.env!.push({ name: 'EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS', value: '5' });
    const out = injected(injectWorkload(d, { ...ctx, configMaps }));
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(expectedSeconds - 10);
  });

  test('a value the drainer would refuse at start is refused here, with its message', () => {
    const result = injectWorkload(withConfigMap(), { ...ctx, configMaps: { ...configMaps, 'orders-drainer': { DRAINER_TAIL_SECONDS: 'ten' } } });
    expect(result.kind).toBe('refused');
    expect((result as { reason: string }).reason).toMatch(/^the drainer would refuse its settings: DRAINER_TAIL_SECONDS .*"ten"/);
  });

  test('DRAINER_POD_DEADLINE=true is injected: the API address and POD_NAME are the kubelet\'s to give, at start', () => {
    const d = withConfigMap();
    podSpecOf(d).containers[0]!.env!.push({ name: 'DRAINER_POD_DEADLINE', value: 'true' });
    const out = injected(injectWorkload(d, { ...ctx, configMaps }));
    expect(envOf(drainerOf(out.object))).toMatchObject({ DRAINER_POD_DEADLINE: 'true', POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(expectedSeconds);
  });
});

describe('classic and native', () => {
  test('classic on request: a second container with its own preStop /prestop/join', () => {
    const out = injected(injectWorkload(workloadOfKind('Deployment'), { defaults: { ...DEFAULTS, sidecar: 'classic' } })).object;
    const spec = podSpecOf(out);
    expect(spec.initContainers).toBeUndefined();
    expect(spec.containers.map((c) => c.name)).toEqual(['app', 'eureka-drainer']);
    expect(spec.containers[1]!.lifecycle).toEqual({ preStop: { httpGet: { path: '/prestop/join', port: 8787 } } });
    expect(spec.containers[1]!.restartPolicy).toBeUndefined();
    expect(injectWorkload(out, ctx).kind).toBe('unchanged');
  });

  test('the annotation beats the default; existing init containers stay first', () => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/sidecar': 'native' }, { initContainers: [{ name: 'migrate', image: 'flyway:10' }] }));
    const out = injected(injectWorkload(d, { defaults: { ...DEFAULTS, sidecar: 'classic' } })).object;
    expect(podSpecOf(out).initContainers!.map((c) => c.name)).toEqual(['migrate', 'eureka-drainer']);
  });

  test('a classic sidecar in a Job is refused: the pod would never complete', () => {
    const result = injectWorkload(workloadOfKind('Job'), { defaults: { ...DEFAULTS, sidecar: 'classic' } });
    expect(result).toEqual({ kind: 'refused', reason: "a classic sidecar never exits, so the Job's pod would never complete; use eureka-drainer/sidecar: native" });
  });

  test('eureka-drainer/image and eureka-drainer/port', () => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/image': 'mirror.example.com/eureka-drainer:0.1.0', 'eureka-drainer/port': '9797' }));
    const out = injected(injectWorkload(d, ctx)).object;
    const drainer = drainerOf(out);
    expect(drainer.image).toBe('mirror.example.com/eureka-drainer:0.1.0');
    expect(drainer.ports).toEqual([{ name: 'drainer', containerPort: 9797 }]);
    expect(envOf(drainer).DRAINER_PORT).toBe('9797');
    expect(podSpecOf(out).containers[0]!.lifecycle!.preStop!.httpGet!.port).toBe(9797);
    expect(validate([out])[0]!.ok).toBe(true);
  });

  test('a port another container uses is refused', () => {
    const d = workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer({ ports: [{ containerPort: 8080 }, { containerPort: 8787 }] })] }));
    expect(injectWorkload(d, ctx)).toEqual({ kind: 'refused', reason: 'container app already uses port 8787; set eureka-drainer/port to a free port' });
  });
});

describe('what the drainer is given', () => {
  test('Secrets: the Eureka URL and credentials from secretKeyRef yes, the token and secretRef envFrom no', () => {
    const app = appContainer({
      env: [
        { name: 'SPRING_APPLICATION_NAME', value: 'orders' },
        { name: 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', valueFrom: { secretKeyRef: { name: 'eureka', key: 'url' } } },
        { name: 'DRAINER_EUREKA_CREDENTIALS', valueFrom: { secretKeyRef: { name: 'eureka', key: 'basic' } } },
        { name: 'DRAINER_TOKEN', valueFrom: { secretKeyRef: { name: 'drainer', key: 'token' } } },
        { name: 'DRAINER_TAIL_METRICS_URL', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } },
      ],
      envFrom: [{ secretRef: { name: 'db' } }],
    });
    const out = injected(injectWorkload(workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [app] })), ctx));
    const drainer = drainerOf(out.object);
    expect(Object.keys(envOf(drainer))).toEqual(['DRAINER_APP_PORT', 'DRAINER_GRACE_PERIOD_SECONDS', 'DRAINER_PORT', 'POD_IP', 'POD_NAME', 'NODE_IP', 'NODE_OPTIONS', 'SPRING_APPLICATION_NAME', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', 'DRAINER_EUREKA_CREDENTIALS']);
    expect(drainer.envFrom).toBeUndefined();
    expect(out.changes).toContain(
      'not given to the drainer: env DRAINER_TOKEN (the injected hook sends no token), env DRAINER_TAIL_METRICS_URL (a Secret it does not need), envFrom secretRef db (Secrets it does not need)',
    );
  });

  test('$(NAME) references in a copied value bring the entry they name', () => {
    const app = appContainer({
      env: [
        { name: 'EUREKA_HOST', value: 'eureka-0.eureka' },
        { name: 'OTHER', value: 'x' },
        { name: 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', value: 'http://$(EUREKA_HOST):8761/eureka/' },
        { name: 'SPRING_APPLICATION_NAME', value: 'orders' },
      ],
    });
    const drainer = drainerOf(injected(injectWorkload(workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [app] })), ctx)).object);
    expect(Object.keys(envOf(drainer)).slice(7)).toEqual(['EUREKA_HOST', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', 'SPRING_APPLICATION_NAME']);
  });

  test('no Eureka URL anywhere it can look (e.g. only in application.yml): refused', () => {
    const app = appContainer({ env: [{ name: 'SPRING_APPLICATION_NAME', value: 'orders' }] });
    const result = injectWorkload(workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [app] })), ctx);
    expect(result.kind).toBe('refused');
    expect((result as { reason: string }).reason).toMatch(/^the drainer would not know the Eureka servers/);
    // …unless a ConfigMap it cannot see may hold it.
    const viaMap = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }, { containers: [app] }));
    expect(injectWorkload(viaMap, ctx).kind).toBe('injected');
  });

  test('DRAINER_PORT is always set, so a ConfigMap cannot move the drainer off the port the hooks call', () => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }));
    const out = injected(injectWorkload(d, { ...ctx, configMaps: { settings: { DRAINER_PORT: '9000' } } })).object;
    expect(envOf(drainerOf(out)).DRAINER_PORT).toBe('8787');
  });

  test('a ConfigMap that sets DRAINER_TOKEN is refused: the injected hook sends none', () => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }));
    const result = injectWorkload(d, { ...ctx, configMaps: { settings: { DRAINER_TOKEN: 'a-long-enough-token-value' } } });
    expect(result.kind).toBe('refused');
  });
});

describe('the adaptive tail', () => {
  const actuatorApp = (extra: Partial<Container> = {}): Container =>
    appContainer({ readinessProbe: { httpGet: { path: '/actuator/health/readiness', port: 'http' } }, ...extra });
  const deployment = (annotations: Record<string, string> = {}, app: Container = actuatorApp()): Manifest =>
    workloadOfKind('Deployment', podTemplate({ ...ENABLED, ...annotations }, { containers: [app] }));
  /** The drainer's settings as it will read them at start: its literal env and the ConfigMaps' data. */
  const drainerConfig = (object: Manifest, configMaps: Record<string, Record<string, string>> = {}) => {
    const drainer = drainerOf(object);
    const fromMaps = (drainer.envFrom ?? []).reduce<Record<string, string>>((all, f) => ({ ...all, ...configMaps[f.configMapRef!.name] }), {});
    const literal = Object.fromEntries(drainer.env!.filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
    return parseConfig({ ...fromMaps, ...literal }, { requireTarget: false });
  };

  test('an actuator probe turns it on: the drainer reads the in-flight gauge from the app, and the changes say so', () => {
    const out = injected(injectWorkload(deployment(), ctx));
    expect(envOf(drainerOf(out.object))).toMatchObject({
      DRAINER_INJECTED_TAIL_MODE: 'adaptive',
      DRAINER_INJECTED_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus',
    });
    expect(drainerConfig(out.object)).toMatchObject({ tailMode: 'adaptive', tailMetricsUrl: 'http://127.0.0.1:8080/actuator/prometheus' });
    expect(out.changes).toContainEqual(expect.stringMatching(/^adaptive tail on, found from readinessProbe \/actuator\/health\/readiness on port 8080: DRAINER_INJECTED_TAIL_MODE=adaptive, DRAINER_INJECTED_TAIL_METRICS_URL=http:\/\/127\.0\.0\.1:8080\/actuator\/prometheus .*eureka-drainer\/tail: fixed turns it off\)$/));
  });

  test('the prometheus.io annotations on the pod template turn it on, on their port', () => {
    const annotations = { 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/actuator/prometheus', 'prometheus.io/port': '8081' };
    const out = injected(injectWorkload(deployment(annotations, appContainer()), ctx));
    expect(drainerConfig(out.object)).toMatchObject({ tailMode: 'adaptive', tailMetricsUrl: 'http://127.0.0.1:8081/actuator/prometheus' });
  });

  test('a pod that shows no actuator: the fixed tail, and the changes say why', () => {
    const out = injected(injectWorkload(deployment({}, appContainer()), ctx));
    expect(Object.keys(envOf(drainerOf(out.object))).filter((n) => n.includes('TAIL'))).toEqual([]);
    expect(drainerConfig(out.object).tailMode).toBe('fixed');
    expect(out.changes).toContainEqual(expect.stringMatching(/^adaptive tail not turned on: no sign of Spring Boot's Prometheus endpoint/));
  });

  test('eureka-drainer/tail: fixed turns it off', () => {
    const out = injected(injectWorkload(deployment({ 'eureka-drainer/tail': 'fixed' }), ctx));
    expect(drainerConfig(out.object).tailMode).toBe('fixed');
    expect(out.changes).toContain('adaptive tail not turned on: eureka-drainer/tail: fixed on the pod template');
  });

  test('eureka-drainer/tail: adaptive turns it on where nothing shows the actuator (Spring Boot\'s default path)', () => {
    const out = injected(injectWorkload(deployment({ 'eureka-drainer/tail': 'adaptive' }, appContainer()), ctx));
    expect(drainerConfig(out.object)).toMatchObject({ tailMode: 'adaptive', tailMetricsUrl: 'http://127.0.0.1:8080/actuator/prometheus' });
  });

  test('any other eureka-drainer/tail value is refused, with the value shown', () => {
    expect(injectWorkload(deployment({ 'eureka-drainer/tail': 'auto' }), ctx)).toEqual({ kind: 'refused', reason: 'eureka-drainer/tail must be adaptive or fixed, got "auto" (pod template)' });
  });

  test("the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE without prometheus: not turned on", () => {
    const app = actuatorApp();
    app.env!.push({ name: 'MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE', value: 'health,info' });
    const out = injected(injectWorkload(deployment({}, app), ctx));
    expect(drainerConfig(out.object).tailMode).toBe('fixed');
    expect(out.changes).toContainEqual(expect.stringMatching(/shows the actuator, but the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,info does not expose prometheus$/));
  });

  test("the user's DRAINER_TAIL_MODE in a ConfigMap it can see wins, and nothing is written", () => {
    const configMaps = { settings: { DRAINER_TAIL_MODE: 'fixed' } };
    const out = injected(injectWorkload(deployment({ 'eureka-drainer/config-map': 'settings' }), { ...ctx, configMaps }));
    expect(Object.keys(envOf(drainerOf(out.object))).filter((n) => n.includes('TAIL'))).toEqual([]);
    expect(drainerConfig(out.object, configMaps).tailMode).toBe('fixed');
    expect(out.changes).toContain("adaptive tail not turned on: the drainer's env sets DRAINER_TAIL_MODE=fixed");
  });

  test("a ConfigMap the webhook cannot see still wins at the drainer: its DRAINER_TAIL_* are read before the injected ones", () => {
    const out = injected(injectWorkload(deployment({ 'eureka-drainer/config-map': 'settings' }), ctx));
    expect(out.changes).toContainEqual(expect.stringContaining('DRAINER_TAIL_MODE wins where set (also in ConfigMap settings, not visible here)'));
    // What the drainer then reads, with the ConfigMap's data:
    expect(drainerConfig(out.object, { settings: { DRAINER_TAIL_MODE: 'fixed' } }).tailMode).toBe('fixed');
    const own = drainerConfig(out.object, { settings: { DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:9999/manage/prometheus' } });
    expect(own).toMatchObject({ tailMode: 'adaptive', tailMetricsUrl: 'http://127.0.0.1:9999/manage/prometheus' });
  });

  test("the app's own DRAINER_INJECTED_* entries are not copied (the injector writes those)", () => {
    const app = appContainer();
    app.env!.push({ name: 'DRAINER_INJECTED_TAIL_MODE', value: 'adaptive' });
    const out = injected(injectWorkload(deployment({}, app), ctx));
    expect(Object.keys(envOf(drainerOf(out.object))).filter((n) => n.includes('TAIL'))).toEqual([]);
  });
});

describe('left alone', () => {
  test.each([
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', annotations: ENABLED }, data: {} }, 'not a workload (ConfigMap x)'],
    [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders' }, spec: {} }, 'not a workload (Service orders)'],
    [{ apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'custom' }, spec: {} }, 'not a workload (Deployment custom)'],
    ['a string', 'not a workload (not an object)'],
    [null, 'not a workload (not an object)'],
  ])('%j', (object, reason) => {
    expect(injectWorkload(object, { ...ctx, namespaceAnnotations: ENABLED })).toEqual({ kind: 'unchanged', reason });
  });

  test('a hand-written eureka-drainer container (no marker) is left as it is', () => {
    const d = workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer(), { name: 'eureka-drainer', image: 'ghcr.io/eureka-drainer/eureka-drainer:0.1.0' }] }));
    expect(injectWorkload(d, ctx)).toEqual({ kind: 'unchanged', reason: 'already has an eureka-drainer container' });
  });

  test('a workload without a pod template: refused when opted in, else unchanged', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', annotations: ENABLED }, spec: {} };
    expect(injectWorkload(d, ctx)).toEqual({ kind: 'refused', reason: 'Deployment x has no spec.template (no pod template to inject into)' });
    expect(injectWorkload({ ...d, metadata: { name: 'x' } }, ctx).kind).toBe('unchanged');
  });
});

describe("the caller's defaults (the webhook's and inject's settings)", () => {
  const TOKEN = 'a-long-enough-token-value';
  const withDefaults = (d: Partial<InjectContext['defaults']>): InjectContext => ({ defaults: { ...DEFAULTS, ...d } });

  test('resources replace the examples\'; an empty section is left out', () => {
    const out = injected(injectWorkload(workloadOfKind('Deployment'), withDefaults({ resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: {} } }))).object;
    expect(drainerOf(out).resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' } });
    expect(validate([out])[0]!.ok).toBe(true);
  });

  test("the port: the drainer's, DRAINER_PORT and the app's hook; a pod's annotation still wins", () => {
    const out = injected(injectWorkload(workloadOfKind('Deployment'), withDefaults({ port: 9100 }))).object;
    expect(drainerOf(out).ports).toEqual([{ name: 'drainer', containerPort: 9100 }]);
    expect(envOf(drainerOf(out)).DRAINER_PORT).toBe('9100');
    expect(podSpecOf(out).containers[0]!.lifecycle!.preStop).toEqual({ httpGet: { path: '/prestop', port: 9100 } });
    const annotated = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/port': '9200' }));
    expect(drainerOf(injected(injectWorkload(annotated, withDefaults({ port: 9100 }))).object).ports![0]!.containerPort).toBe(9200);
  });

  test('env defaults: given unless the app or a visible ConfigMap sets the name; the plan reads them', () => {
    const env = [{ name: 'DRAINER_TAIL_SECONDS', value: '20' }];
    const out = injected(injectWorkload(workloadOfKind('Deployment'), withDefaults({ env })));
    expect(envOf(drainerOf(out.object)).DRAINER_TAIL_SECONDS).toBe('20');
    // The plan's tail is 20 s, not 10: 138 + 10.
    expect(podSpecOf(out.object).terminationGracePeriodSeconds).toBe(148);
    expect(out.changes).toContain('env defaults: DRAINER_TAIL_SECONDS');

    const appSets = workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer({ env: [...appContainer().env!, { name: 'DRAINER_TAIL_SECONDS', value: '3' }] })] }));
    const drainer = drainerOf(injected(injectWorkload(appSets, withDefaults({ env }))).object);
    expect(drainer.env!.filter((e) => e.name === 'DRAINER_TAIL_SECONDS')).toEqual([{ name: 'DRAINER_TAIL_SECONDS', value: '3' }]);

    const fromConfigMap = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }));
    const withMap = injected(injectWorkload(fromConfigMap, { ...withDefaults({ env }), configMaps: { settings: { DRAINER_TAIL_SECONDS: '4' } } }));
    expect(envOf(drainerOf(withMap.object)).DRAINER_TAIL_SECONDS).toBeUndefined();
  });

  test('env defaults over a ConfigMap it cannot see: the changes say the default wins there', () => {
    const fromConfigMap = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }));
    const out = injected(injectWorkload(fromConfigMap, withDefaults({ env: [{ name: 'DRAINER_TAIL_SECONDS', value: '20' }] })));
    expect(out.changes).toContain('env defaults: DRAINER_TAIL_SECONDS (over ConfigMap settings, not visible here: env beats envFrom)');
  });

  test("the token: the drainer's DRAINER_TOKEN and the app's preStop header carry the one value", () => {
    const out = injected(injectWorkload(workloadOfKind('Deployment'), withDefaults({ token: TOKEN })));
    expect(envOf(drainerOf(out.object)).DRAINER_TOKEN).toBe(TOKEN);
    expect(podSpecOf(out.object).containers[0]!.lifecycle!.preStop).toEqual({ httpGet: { path: '/prestop', port: 8787, httpHeaders: [{ name: 'X-Drainer-Token', value: TOKEN }] } });
    expect(out.changes).toContain('app container app: preStop httpGet /prestop on port 8787 with the token (X-Drainer-Token)');
    expect(out.changes.join('\n')).not.toContain(TOKEN);
    expect(validate([out.object])[0]!.ok).toBe(true);
  });

  test("the token in a classic sidecar: its own /prestop/join hook sends it too", () => {
    const drainer = drainerOf(injected(injectWorkload(workloadOfKind('Deployment'), withDefaults({ token: TOKEN, sidecar: 'classic' }))).object);
    expect(drainer.lifecycle!.preStop!.httpGet).toEqual({ path: '/prestop/join', port: 8787, httpHeaders: [{ name: 'X-Drainer-Token', value: TOKEN }] });
  });

  test('with a token, an app whose preStop is already ours (with that token) is kept; with another token it is refused', () => {
    const hook = (value: string) => ({ preStop: { httpGet: { path: '/prestop', port: 8787, httpHeaders: [{ name: 'X-Drainer-Token', value }] } } });
    const ours = workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer({ lifecycle: hook(TOKEN) })] }));
    expect(injected(injectWorkload(ours, withDefaults({ token: TOKEN }))).changes).toContain('app container app: already has the drainer\'s preStop (kept)');
    const other = workloadOfKind('Deployment', podTemplate(ENABLED, { containers: [appContainer({ lifecycle: hook('another-token-of-length') })] }));
    expect(injectWorkload(other, withDefaults({ token: TOKEN }))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('already has a preStop hook') });
    expect(injectWorkload(ours, ctx)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('already has a preStop hook') });
  });

  test("with a token, a ConfigMap's DRAINER_TOKEN is no reason to refuse: the injected env wins over it", () => {
    const d = workloadOfKind('Deployment', podTemplate({ ...ENABLED, 'eureka-drainer/config-map': 'settings' }));
    const result = injectWorkload(d, { ...withDefaults({ token: TOKEN }), configMaps: { settings: { DRAINER_TOKEN: 'another-long-token-value' } } });
    expect(envOf(drainerOf(injected(result).object)).DRAINER_TOKEN).toBe(TOKEN);
  });
});
