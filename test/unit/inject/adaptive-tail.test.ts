import { decideTail, exposureOf, findMetricsEndpoint, injectedTailEnv, type Exposure, type MetricsEndpoint, type TailFacts } from '../../../src/inject/adaptive-tail';

// What the functions under test take: a container or probe as parsed JSON, possibly malformed (a port of any type).
type Json = Record<string, unknown>;

const FOUND: MetricsEndpoint = { url: 'http://127.0.0.1:8081/actuator/prometheus', foundFrom: 'readinessProbe /actuator/health/readiness on port 8081' };
const UNKNOWN: Exposure = { state: 'unknown' };
const HIDDEN: Exposure = { state: 'not_exposed', why: "the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health does not expose prometheus" };
const facts = (over: Partial<TailFacts>): TailFacts => ({ setting: undefined, userTailMode: undefined, endpoint: undefined, exposure: UNKNOWN, appPort: 8080, ...over });
const annotated = (value: 'adaptive' | 'fixed') => ({ value, where: 'pod template' });

describe('decideTail: the user first, then what the pod shows', () => {
  test.each<[string, Partial<TailFacts>, string, string | undefined, RegExp]>([
    ['an endpoint found, exposure unknown', { endpoint: FOUND }, 'adaptive', FOUND.url, /^found from readinessProbe/],
    ['an endpoint found, prometheus exposed', { endpoint: FOUND, exposure: { state: 'exposed' } }, 'adaptive', FOUND.url, /^found from/],
    ['an endpoint found, but the app hides prometheus', { endpoint: FOUND, exposure: HIDDEN }, 'untouched', undefined, /shows the actuator, but .*does not expose prometheus/],
    ['nothing found', {}, 'untouched', undefined, /^no sign of Spring Boot's Prometheus endpoint/],
    ['eureka-drainer/tail: fixed beats an endpoint', { endpoint: FOUND, setting: annotated('fixed') }, 'untouched', undefined, /^eureka-drainer\/tail: fixed on the pod template$/],
    ["the drainer's DRAINER_TAIL_MODE beats an endpoint", { endpoint: FOUND, userTailMode: 'fixed' }, 'untouched', undefined, /DRAINER_TAIL_MODE=fixed$/],
    ["the drainer's DRAINER_TAIL_MODE beats the annotation (it is what the drainer reads)", { setting: annotated('fixed'), userTailMode: 'adaptive' }, 'untouched', undefined, /DRAINER_TAIL_MODE=adaptive$/],
    ['eureka-drainer/tail: adaptive with an endpoint: that endpoint', { endpoint: FOUND, setting: annotated('adaptive') }, 'adaptive', FOUND.url, /adaptive on the pod template; endpoint from readinessProbe/],
    ["eureka-drainer/tail: adaptive, nothing found: Spring Boot's default on the app port", { setting: annotated('adaptive') }, 'adaptive', 'http://127.0.0.1:8080/actuator/prometheus', /no endpoint found/],
    ['eureka-drainer/tail: adaptive although the app hides prometheus: on, with the warning', { setting: annotated('adaptive'), exposure: HIDDEN }, 'adaptive', 'http://127.0.0.1:8080/actuator/prometheus', /but .*fall back to the fixed tail$/],
  ])('%s', (_name, over, mode, url, because) => {
    const decision = decideTail(facts(over));
    expect(decision.mode).toBe(mode);
    expect(decision.mode === 'adaptive' ? decision.metricsUrl : undefined).toBe(url);
    expect(decision.because).toMatch(because);
  });

  test('only an adaptive decision writes env, under the names the drainer reads after its own', () => {
    expect(injectedTailEnv(decideTail(facts({ endpoint: FOUND })))).toEqual([
      { name: 'DRAINER_INJECTED_TAIL_MODE', value: 'adaptive' },
      { name: 'DRAINER_INJECTED_TAIL_METRICS_URL', value: FOUND.url },
    ]);
    expect(injectedTailEnv(decideTail(facts({})))).toEqual([]);
  });
});

describe("exposureOf: Spring Boot's management.endpoints.web.exposure as env", () => {
  test.each<[Record<string, string>, Exposure['state']]>([
    [{}, 'unknown'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: 'health,prometheus' }, 'exposed'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: ' Health , PROMETHEUS ' }, 'exposed'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: '*' }, 'exposed'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: 'health,info' }, 'not_exposed'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: '*', MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE: 'prometheus' }, 'not_exposed'],
    [{ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE: 'env,beans' }, 'unknown'],
  ])('%j → %s', (env, state) => {
    expect(exposureOf(env).state).toBe(state);
  });

  test('the reason names the variable and its value', () => {
    expect(exposureOf({ MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: 'health' })).toEqual({ state: 'not_exposed', why: "the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health does not expose prometheus" });
  });
});

describe('findMetricsEndpoint: where the pod shows the actuator', () => {
  const app = (extra: Json = {}): Json => ({ name: 'app', ports: [{ name: 'http', containerPort: 8080 }], ...extra });
  const probe = (path: string, port: unknown, scheme?: string): Json => ({ httpGet: { path, port, ...(scheme ? { scheme } : {}) } });
  const find = (pod: { annotations?: Record<string, string>; app?: Json; appEnv?: Record<string, string> }) =>
    findMetricsEndpoint({ annotations: pod.annotations ?? {}, app: pod.app ?? app(), appPort: 8080, appEnv: pod.appEnv ?? {}, where: 'pod template' });
  const SCRAPE = { 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/actuator/prometheus' };

  test.each<[string, Parameters<typeof find>[0], string | undefined]>([
    ['nothing', {}, undefined],
    ['the scrape annotations, no port: the app port', { annotations: SCRAPE }, 'http://127.0.0.1:8080/actuator/prometheus'],
    ['the scrape annotations with a port', { annotations: { ...SCRAPE, 'prometheus.io/port': '8081' } }, 'http://127.0.0.1:8081/actuator/prometheus'],
    ['another base path', { annotations: { 'prometheus.io/path': '/manage/prometheus/' } }, 'http://127.0.0.1:8080/manage/prometheus'],
    ['a path that is not Spring\'s endpoint', { annotations: { 'prometheus.io/path': '/metrics' } }, undefined],
    ['a path that only ends in "prometheus"', { annotations: { 'prometheus.io/path': '/my-prometheus' } }, undefined],
    ['scrape: false', { annotations: { ...SCRAPE, 'prometheus.io/scrape': 'false' } }, undefined],
    ['scheme https (the drainer reads 127.0.0.1 over plain HTTP)', { annotations: { ...SCRAPE, 'prometheus.io/scheme': 'https' } }, undefined],
    ['a port annotation that is not a port', { annotations: { ...SCRAPE, 'prometheus.io/port': 'http' } }, undefined],
    ['a readiness probe on the actuator, numeric port', { app: app({ readinessProbe: probe('/actuator/health/readiness', 8081) }) }, 'http://127.0.0.1:8081/actuator/prometheus'],
    ['a liveness probe on the actuator, named port', { app: app({ livenessProbe: probe('/actuator/health/liveness', 'http') }) }, 'http://127.0.0.1:8080/actuator/prometheus'],
    ['a probe on a named port the container does not have', { app: app({ livenessProbe: probe('/actuator/health', 'mgmt') }) }, undefined],
    ['a probe elsewhere', { app: app({ readinessProbe: probe('/healthz', 8080) }) }, undefined],
    ['a probe on "/actuatorx"', { app: app({ readinessProbe: probe('/actuatorx/health', 8080) }) }, undefined],
    ['an HTTPS probe', { app: app({ readinessProbe: probe('/actuator/health', 8443, 'HTTPS') }) }, undefined],
    ['a probe under the base path the app sets', { app: app({ readinessProbe: probe('/manage/health', 8080) }), appEnv: { MANAGEMENT_ENDPOINTS_WEB_BASE_PATH: '/manage/' } }, 'http://127.0.0.1:8080/manage/prometheus'],
    ['a port named management', { app: app({ ports: [{ name: 'http', containerPort: 8080 }, { name: 'management', containerPort: 9090 }] }) }, 'http://127.0.0.1:9090/actuator/prometheus'],
    ['the annotations before a probe', { annotations: { ...SCRAPE, 'prometheus.io/port': '9000' }, app: app({ readinessProbe: probe('/actuator/health', 8081) }) }, 'http://127.0.0.1:9000/actuator/prometheus'],
  ])('%s', (_name, pod, url) => {
    expect(find(pod)?.url).toBe(url);
  });

  test('says what showed it', () => {
    expect(find({ annotations: { ...SCRAPE, 'prometheus.io/port': '8081' } })?.foundFrom).toBe('annotation prometheus.io/path: /actuator/prometheus on the pod template, port 8081');
    expect(find({ app: app({ startupProbe: probe('/actuator/health', 'http') }) })?.foundFrom).toBe('startupProbe /actuator/health on port 8080');
  });
});
