/**
 * Whether an injected drainer gets the adaptive tail (end the request tail as soon as the app reports no request
 * in flight; src/tail.ts), decided from what the pod shows: Spring Boot's actuator Prometheus endpoint, which
 * carries the in-flight gauge, found from the pod's `prometheus.io/*` annotations, the app's probes or a
 * management port. Pure: facts in, one decision out.
 *
 * The injector writes its decision under the DRAINER_INJECTED_TAIL_* names, which the drainer reads only when
 * DRAINER_TAIL_MODE / DRAINER_TAIL_METRICS_URL are not set: a setting of the user's wins even in a ConfigMap the
 * webhook cannot see (env beats envFrom, so writing DRAINER_TAIL_MODE itself would override it).
 */
import { isObject, type Json } from './workload';

export const INJECTED_TAIL_MODE = 'DRAINER_INJECTED_TAIL_MODE';
export const INJECTED_TAIL_METRICS_URL = 'DRAINER_INJECTED_TAIL_METRICS_URL';

/** Spring Boot's default `management.endpoints.web.base-path`. */
const ACTUATOR_BASE_PATH = '/actuator';
/** Container port names that, by convention, are Spring Boot's `management.server.port`. */
const MANAGEMENT_PORT_NAMES: ReadonlySet<string> = new Set(['management', 'actuator']);
const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

/** Where the app serves Spring Boot's Prometheus endpoint, and what showed it. */
export interface MetricsEndpoint {
  readonly url: string;
  readonly foundFrom: string;
}

/** What the app's environment says about the Prometheus endpoint's web exposure. */
export type Exposure = { readonly state: 'exposed' | 'unknown' } | { readonly state: 'not_exposed'; readonly why: string };

export interface TailFacts {
  /** `eureka-drainer/tail` as the first annotation layer sets it. */
  readonly setting: { readonly value: 'adaptive' | 'fixed'; readonly where: string } | undefined;
  /** DRAINER_TAIL_MODE as the drainer's env shows it to the injector (the app's env, the ConfigMaps it can see). */
  readonly userTailMode: string | undefined;
  readonly endpoint: MetricsEndpoint | undefined;
  readonly exposure: Exposure;
  readonly appPort: number;
}

export type TailDecision =
  | { readonly mode: 'adaptive'; readonly metricsUrl: string; readonly because: string }
  /** The injector writes nothing: the drainer's own setting, or its default (the fixed tail), applies. */
  | { readonly mode: 'untouched'; readonly because: string };

interface TailRule {
  readonly applies: (f: TailFacts) => boolean;
  readonly decide: (f: TailFacts) => TailDecision;
}

/** Why the app's env says the endpoint is hidden, if it does. */
const hiddenBecause = (f: TailFacts): string | undefined => (f.exposure.state === 'not_exposed' ? f.exposure.why : undefined);

const SPRING_DEFAULT = (port: number): string => `http://127.0.0.1:${port}${ACTUATOR_BASE_PATH}/prometheus`;

/** First match wins: the user's settings (what the drainer itself will read first), then what the pod shows. */
const RULES: readonly TailRule[] = [
  {
    applies: (f) => f.userTailMode !== undefined,
    decide: (f) => ({ mode: 'untouched', because: `the drainer's env sets DRAINER_TAIL_MODE=${f.userTailMode}` }),
  },
  {
    applies: (f) => f.setting?.value === 'fixed',
    decide: (f) => ({ mode: 'untouched', because: `eureka-drainer/tail: fixed on the ${f.setting!.where}` }),
  },
  {
    applies: (f) => f.setting?.value === 'adaptive',
    decide: (f) => ({
      mode: 'adaptive',
      metricsUrl: f.endpoint?.url ?? SPRING_DEFAULT(f.appPort),
      because:
        `eureka-drainer/tail: adaptive on the ${f.setting!.where}` +
        (f.endpoint ? `; endpoint from ${f.endpoint.foundFrom}` : `; no endpoint found, Spring Boot's default on the app port`) +
        (hiddenBecause(f) ? `; but ${hiddenBecause(f)}, so the drain will fall back to the fixed tail` : ''),
    }),
  },
  {
    applies: (f) => f.endpoint !== undefined && hiddenBecause(f) !== undefined,
    decide: (f) => ({ mode: 'untouched', because: `${f.endpoint!.foundFrom} shows the actuator, but ${hiddenBecause(f)}` }),
  },
  {
    applies: (f) => f.endpoint !== undefined,
    decide: (f) => ({ mode: 'adaptive', metricsUrl: f.endpoint!.url, because: `found from ${f.endpoint!.foundFrom}` }),
  },
  {
    applies: () => true,
    decide: () => ({
      mode: 'untouched',
      because: 'no sign of Spring Boot\'s Prometheus endpoint (a prometheus.io/path annotation, a probe on the actuator, a port named management)',
    }),
  },
];

export function decideTail(facts: TailFacts): TailDecision {
  return RULES.find((rule) => rule.applies(facts))!.decide(facts);
}

/** The env entries that carry an adaptive decision to the drainer. */
export function injectedTailEnv(decision: TailDecision): Json[] {
  if (decision.mode !== 'adaptive') return [];
  return [
    { name: INJECTED_TAIL_MODE, value: 'adaptive' },
    { name: INJECTED_TAIL_METRICS_URL, value: decision.metricsUrl },
  ];
}

const list = (value: string | undefined): string[] | undefined => value?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

/** Spring Boot's `management.endpoints.web.exposure.include/exclude`, as env variables of the app. */
export function exposureOf(appEnv: Readonly<Record<string, string>>): Exposure {
  const include = list(appEnv.MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE);
  const exclude = list(appEnv.MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE);
  if (exclude?.some((e) => e === '*' || e === 'prometheus')) {
    return { state: 'not_exposed', why: `the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE=${appEnv.MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE} hides prometheus` };
  }
  if (include === undefined) return { state: 'unknown' };
  if (include.some((e) => e === '*' || e === 'prometheus')) return { state: 'exposed' };
  return { state: 'not_exposed', why: `the app's MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=${appEnv.MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE} does not expose prometheus` };
}

const PORT = /^\d{1,5}$/;
const validPort = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && PORT.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65_535 ? n : undefined;
};

/**
 * The first place the pod shows Spring Boot's Prometheus endpoint, in order of how directly it says so: the
 * `prometheus.io/*` scrape annotations (the path itself), a probe on the actuator's base path, a container port
 * named for the management server (both: the path is the base path + /prometheus).
 */
export function findMetricsEndpoint(pod: {
  readonly annotations: Readonly<Record<string, string>>;
  readonly app: Json;
  readonly appPort: number;
  readonly appEnv: Readonly<Record<string, string>>;
  readonly where: string;
}): MetricsEndpoint | undefined {
  const a = pod.annotations;
  const path = a['prometheus.io/path']?.trim();
  // Spring's endpoint id is `prometheus`, under whatever base path the app chose.
  if (path !== undefined && /^\/(?:[^?#]*\/)?prometheus\/?$/.test(path) && a['prometheus.io/scrape']?.trim() !== 'false' && (a['prometheus.io/scheme'] ?? 'http').trim() === 'http') {
    const annotated = a['prometheus.io/port'];
    const port = annotated === undefined ? pod.appPort : validPort(annotated.trim());
    if (port !== undefined) {
      return { url: `http://127.0.0.1:${port}${path.replace(/\/$/, '')}`, foundFrom: `annotation prometheus.io/path: ${path} on the ${pod.where}${annotated === undefined ? '' : `, port ${port}`}` };
    }
  }
  const base = (pod.appEnv.MANAGEMENT_ENDPOINTS_WEB_BASE_PATH?.trim() ?? ACTUATOR_BASE_PATH).replace(/\/+$/, '');
  const ports = Array.isArray(pod.app.ports) ? pod.app.ports.filter(isObject) : [];
  const portNamed = (name: string): number | undefined => validPort(ports.find((p) => p.name === name)?.containerPort);
  for (const probe of PROBES) {
    const handler = pod.app[probe];
    const get = isObject(handler) && isObject(handler.httpGet) ? handler.httpGet : undefined;
    if (!get || typeof get.path !== 'string' || !get.path.startsWith(`${base}/`) || (get.scheme ?? 'HTTP') !== 'HTTP') continue;
    const port = validPort(get.port) ?? (typeof get.port === 'string' ? portNamed(get.port) : undefined);
    if (port !== undefined) return { url: `http://127.0.0.1:${port}${base}/prometheus`, foundFrom: `${probe} ${get.path} on port ${port}` };
  }
  for (const p of ports) {
    const port = validPort(p.containerPort);
    if (typeof p.name === 'string' && MANAGEMENT_PORT_NAMES.has(p.name) && port !== undefined) {
      return { url: `http://127.0.0.1:${port}${base}/prometheus`, foundFrom: `container port ${p.name} (${port})` };
    }
  }
  return undefined;
}
