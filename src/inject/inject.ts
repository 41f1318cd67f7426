/**
 * The injection function shared by `eureka-drainer inject` and the admission webhook: a workload in, the
 * same workload with the drainer wired in out (or why not). Pure: the input is never changed, no I/O, no
 * clock.
 */
import { VARIABLE_NAMES } from '../config';
import { formatMs } from '../duration';
import type { Plan, PlanTermName } from '../plan';
import { VERSION } from '../version';
import { decideTail, exposureOf, findMetricsEndpoint, INJECTED_TAIL_METRICS_URL, INJECTED_TAIL_MODE, injectedTailEnv, type TailDecision } from './adaptive-tail';
import { ANNOTATIONS, readOptIn, readSettings, type AnnotationLayer } from './annotations';
import { appPreStop, downwardEnv, drainerContainer, DRAINER_CONTAINER_NAME, DRAINER_TOKEN_HEADER } from './drainer-container';
import { OWN_NAMES, TOKEN_NAMES, type EnvDefault, type InjectDefaults } from './drainer-defaults';
import { graceFor, visibleEnv, type ConfigMaps } from './grace';
import { annotationsOf, describeObject, isObject, locateWorkload, workloadKind, type Json } from './workload';

// The defaults are the webhook's and the CLI's settings (src/inject/drainer-defaults.ts); callers take them from here with the function.
export { DEFAULTS, type InjectDefaults } from './drainer-defaults';

export interface InjectContext {
  readonly defaults: InjectDefaults;
  /** Annotations of the namespace (the CLI sees Namespace objects in its input; the webhook passes {'eureka-drainer/inject':'enabled'} when the namespace selector matched). */
  readonly namespaceAnnotations?: Readonly<Record<string, string>>;
  /** ConfigMaps visible to the caller, by name → data (the CLI: those in the same input; the webhook: none). */
  readonly configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export type InjectResult =
  | { readonly kind: 'injected'; readonly object: unknown; readonly changes: readonly string[] }
  | { readonly kind: 'unchanged'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

/** The only Secret-backed values copied from the app: what the drainer needs to reach Eureka at all. */
const SECRET_NAMES_COPIED = new Set(['DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', 'DRAINER_EUREKA_CREDENTIALS']);
const DRAINER_READS = new Set(VARIABLE_NAMES);
const URL_NAMES = ['DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE'];
const APP_NAME_NAMES = ['DRAINER_APP_NAME', 'SPRING_APPLICATION_NAME'];

const unchanged = (reason: string): InjectResult => ({ kind: 'unchanged', reason });
const refused = (reason: string): InjectResult => ({ kind: 'refused', reason });
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

export function injectWorkload(object: unknown, context: InjectContext): InjectResult {
  if (!workloadKind(object)) return unchanged(`not a workload (${describeObject(object)})`);
  const copy = structuredClone(object) as Json;
  const located = locateWorkload(copy)!;
  const namespaceLayer: AnnotationLayer = { where: 'namespace', annotations: context.namespaceAnnotations ?? {} };
  const kind = String(copy.kind);
  if ('problem' in located) {
    const optIn = readOptIn([{ where: `${kind} metadata`, annotations: annotationsOf(copy.metadata) }, namespaceLayer]);
    return optIn.state === 'enabled' ? refused(located.problem) : unchanged(located.problem);
  }
  const w = located;
  const podAnnotations = annotationsOf(w.podMetadata);
  const layers: AnnotationLayer[] =
    kind === 'Pod'
      ? [{ where: 'pod', annotations: podAnnotations }, namespaceLayer]
      : [{ where: 'pod template', annotations: podAnnotations }, { where: `${kind} metadata`, annotations: annotationsOf(w.metadata) }, namespaceLayer];

  const optIn = readOptIn(layers);
  if (optIn.state === 'invalid') return refused(optIn.problem);
  if (optIn.state === 'unset') return unchanged(`not opted in (no ${ANNOTATIONS.inject} annotation on the ${kind === 'Pod' ? 'pod' : `pod template, the ${kind}`} or its namespace)`);
  if (optIn.state === 'disabled') return unchanged(`opted out (${ANNOTATIONS.inject}: disabled on the ${optIn.where})`);

  const containers = arr(w.podSpec.containers);
  const inits = arr(w.podSpec.initContainers);
  const hasDrainer = [...containers, ...inits].some((c) => c.name === DRAINER_CONTAINER_NAME);
  const marker = podAnnotations[ANNOTATIONS.injected];
  if (hasDrainer && marker !== undefined) return unchanged(`already injected (${ANNOTATIONS.injected}: ${marker})`);
  if (hasDrainer) return unchanged(`already has an ${DRAINER_CONTAINER_NAME} container`);

  const read = readSettings(layers, context.defaults);
  if ('problems' in read) return refused(read.problems.join('; '));
  const s = read.settings;
  const changes: string[] = [];

  // The app container.
  let app: Json | undefined;
  if (s.appContainer !== undefined) {
    app = containers.find((c) => c.name === s.appContainer);
    if (!app) return refused(`${ANNOTATIONS.appContainer} names ${JSON.stringify(s.appContainer)}, but the containers are ${containers.map((c) => String(c.name)).join(', ')}`);
  } else if (containers.length === 1) {
    app = containers[0]!;
  } else {
    return refused(`${containers.length} containers (${containers.map((c) => String(c.name)).join(', ')}) and no ${ANNOTATIONS.appContainer} annotation`);
  }
  const appName = String(app.name);

  if (s.sidecar === 'classic' && w.runsToCompletion) {
    return refused(`a classic sidecar never exits, so the ${kind}'s pod would never complete; use ${ANNOTATIONS.sidecar}: native`);
  }
  if (w.podSpec.hostNetwork === true) return refused(`the pod uses hostNetwork: the drainer's port ${s.port} would be the node's, shared by every such pod`);
  const taken = [...containers, ...inits].flatMap((c) => arr(c.ports).filter((p) => Number(p.containerPort) === s.port).map(() => String(c.name)));
  if (taken.length > 0) return refused(`container ${taken[0]} already uses port ${s.port}; set ${ANNOTATIONS.port} to a free port`);

  const firstPort = arr(app.ports).map((p) => p.containerPort).find((p) => typeof p === 'number');
  const appPort = s.appPort ?? (typeof firstPort === 'number' ? firstPort : undefined);
  if (appPort === undefined) return refused(`app container ${appName} declares no containerPort; set ${ANNOTATIONS.appPort}`);

  // An existing preStop is never replaced: the drain must not silently drop what the app's hook did.
  const lifecycle = isObject(app.lifecycle) ? app.lifecycle : {};
  const existingHook = lifecycle.preStop;
  const token = context.defaults.token;
  const hookIsOurs = existingHook !== undefined && isOurHook(existingHook, s.port, token);
  if (existingHook !== undefined && !hookIsOurs) {
    return refused(
      `app container ${appName} already has a preStop hook (${JSON.stringify(existingHook)}); the drainer's preStop would replace it. ` +
        `Remove it (the drainer waits for the callers; a sleep is no longer needed), or set ${ANNOTATIONS.inject}: disabled`,
    );
  }

  // The drainer's environment: the app's own settings under the names the drainer reads.
  const copied = copyAppEnv(arr(app.env));
  if ('problem' in copied) return refused(copied.problem);
  const envFrom: Json[] = [];
  const skippedSecrets: string[] = [...copied.skipped];
  for (const from of arr(app.envFrom)) {
    if (isObject(from.configMapRef)) envFrom.push(structuredClone(from));
    else if (isObject(from.secretRef)) skippedSecrets.push(`envFrom secretRef ${String(from.secretRef.name)} (Secrets it does not need)`);
  }
  if (s.configMap !== undefined && !envFrom.some((f) => isObject(f.configMapRef) && f.configMapRef.name === s.configMap && !f.prefix)) {
    envFrom.push({ configMapRef: { name: s.configMap } });
  }
  // DRAINER_PORT always, so a ConfigMap's value cannot move the drainer away from the port the hooks call (env beats envFrom).
  const own: Json[] = [
    { name: 'DRAINER_APP_PORT', value: String(appPort) },
    { name: 'DRAINER_PORT', value: String(s.port) },
  ];

  const configMaps: ConfigMaps = context.configMaps ?? {};
  const fromConfigMaps = visibleEnv(envFrom, [], configMaps).env;
  const envDefaults = defaultsNotSet(context.defaults.env, copied.env, fromConfigMaps);
  const tokenEnv: Json[] = token === undefined ? [] : [{ name: 'DRAINER_TOKEN', value: token }];
  // The env in the order it is written below (DRAINER_GRACE_PERIOD_SECONDS aside: it is the result).
  const visible = visibleEnv(envFrom, [...own, ...tokenEnv, ...downwardEnv(), ...envDefaults, ...copied.env], configMaps);
  for (const name of TOKEN_NAMES) {
    // With a token the injector's DRAINER_TOKEN wins over a ConfigMap's (env beats envFrom); without one, the hook sends none.
    if (token === undefined && fromConfigMaps[name] !== undefined) return refused(`a ConfigMap the drainer reads sets ${name}, but the injected preStop sends no token (the kubelet's call would be refused)`);
  }
  if ((visible.env.DRAINER_MODE ?? '').trim() === 'owner') return refused('DRAINER_MODE=owner: injection is for apps with their own Eureka client; see k8s/owner-mode.yaml');
  const canKnow = (names: readonly string[]): boolean =>
    visible.unseenConfigMaps.length > 0 || names.some((n) => visible.env[n] !== undefined || copied.env.some((e) => e.name === n));
  if (!canKnow(URL_NAMES)) {
    return refused(`the drainer would not know the Eureka servers: no ${URL_NAMES.join(' or ')} in app container ${appName}'s env or ConfigMaps (set it there, or in a ConfigMap named by ${ANNOTATIONS.configMap})`);
  }
  if (!canKnow(APP_NAME_NAMES)) {
    return refused(`the drainer would not know the Eureka application name: no ${APP_NAME_NAMES.join(' or ')} in app container ${appName}'s env or ConfigMaps (set it there, or in a ConfigMap named by ${ANNOTATIONS.configMap})`);
  }

  const existingGrace = typeof w.podSpec.terminationGracePeriodSeconds === 'number' ? w.podSpec.terminationGracePeriodSeconds : undefined;
  const grace = graceFor(visible, existingGrace);
  if (!grace.ok) return refused(grace.problem);
  // The adaptive tail, where the pod shows Spring Boot's in-flight gauge (the app's own env and ConfigMaps say how its actuator is set up).
  const appEnv = visibleEnv(arr(app.envFrom).filter((f) => isObject(f.configMapRef)), arr(app.env), configMaps).env;
  const podWhere = kind === 'Pod' ? 'pod' : 'pod template';
  const tail = decideTail({
    setting: s.tail,
    userTailMode: visible.env.DRAINER_TAIL_MODE?.trim() || undefined,
    endpoint: findMetricsEndpoint({ annotations: podAnnotations, app, appPort, appEnv, where: podWhere }),
    exposure: exposureOf(appEnv),
    appPort,
  });
  const env = [own[0]!, { name: 'DRAINER_GRACE_PERIOD_SECONDS', value: String(grace.seconds) }, ...own.slice(1), ...tokenEnv, ...downwardEnv(), ...envDefaults, ...copied.env, ...injectedTailEnv(tail)];

  // Apply.
  const container = drainerContainer({ sidecar: s.sidecar, image: s.image, port: s.port, resources: context.defaults.resources, token, envFrom, env });
  if (s.sidecar === 'native') w.podSpec.initContainers = [...arr(w.podSpec.initContainers), container];
  else (w.podSpec.containers as unknown[]).push(container);
  changes.push(
    s.sidecar === 'native'
      ? `added container ${DRAINER_CONTAINER_NAME} (${s.image}) as a native sidecar: initContainers, restartPolicy: Always`
      : `added container ${DRAINER_CONTAINER_NAME} (${s.image}) as a classic sidecar in containers, its own preStop GET /prestop/join`,
  );
  if (!hookIsOurs) {
    app.lifecycle = { ...lifecycle, preStop: appPreStop(s.port, token) };
    changes.push(`app container ${appName}: preStop httpGet /prestop on port ${s.port}${token === undefined ? '' : ` with the token (${DRAINER_TOKEN_HEADER})`}`);
  } else {
    changes.push(`app container ${appName}: already has the drainer's preStop (kept)`);
  }
  const p = grace.plan;
  const planText = `drain ${formatMs(p.drainMs)} + app shutdown ${formatMs(termMs(p, 'app_shutdown'))} + margin ${formatMs(termMs(p, 'margin'))} = ${grace.requiredSeconds}s`;
  if (existingGrace !== undefined && existingGrace >= grace.requiredSeconds) {
    changes.push(`terminationGracePeriodSeconds ${existingGrace} kept (the plan needs ${planText})`);
  } else {
    w.podSpec.terminationGracePeriodSeconds = grace.seconds;
    changes.push(`terminationGracePeriodSeconds ${existingGrace ?? 'unset (30)'} → ${grace.seconds} (plan: ${planText})`);
  }
  const overridden = fromConfigMaps.DRAINER_GRACE_PERIOD_SECONDS;
  changes.push(
    `DRAINER_GRACE_PERIOD_SECONDS=${grace.seconds}` +
      (overridden !== undefined && overridden !== String(grace.seconds) ? ` (the ConfigMap's ${overridden} is overridden: env beats envFrom)` : ''),
  );
  changes.push(
    `DRAINER_APP_PORT=${appPort}, DRAINER_PORT=${s.port}; POD_IP, POD_NAME, NODE_IP from the Downward API; ` +
      (token === undefined ? "no DRAINER_TOKEN (the guard is loopback, NODE_IP and the pod's default gateway)" : 'DRAINER_TOKEN, the value the preStop sends'),
  );
  if (envDefaults.length > 0) {
    const unseen = visible.unseenConfigMaps.length > 0 ? ` (over ConfigMap ${visible.unseenConfigMaps.join(', ')}, not visible here: env beats envFrom)` : '';
    changes.push(`env defaults: ${envDefaults.map((e) => e.name).join(', ')}${unseen}`);
  }
  changes.push(tailChange(tail, visible.unseenConfigMaps));
  if (copied.env.length > 0) changes.push(`copied from app container ${appName}'s env: ${copied.env.map((e) => String(e.name)).join(', ')}`);
  if (envFrom.length > 0) changes.push(`drainer envFrom ConfigMaps: ${envFrom.map((f) => String((f.configMapRef as Json).name)).join(', ')}`);
  for (const name of visible.unseenConfigMaps) changes.push(`plan uses defaults for ConfigMap ${name}'s values (not visible here)`);
  if (skippedSecrets.length > 0) changes.push(`not given to the drainer: ${skippedSecrets.join(', ')}`);
  if (!isObject(w.podMetadata.annotations)) w.podMetadata.annotations = {};
  (w.podMetadata.annotations as Json)[ANNOTATIONS.injected] = VERSION;
  changes.push(`annotation ${ANNOTATIONS.injected}: ${VERSION} on the ${kind === 'Pod' ? 'pod' : 'pod template'}`);
  return { kind: 'injected', object: copy, changes };
}

function tailChange(tail: TailDecision, unseenConfigMaps: readonly string[]): string {
  if (tail.mode === 'untouched') return `adaptive tail not turned on: ${tail.because}`;
  const unseen = unseenConfigMaps.length > 0 ? ` (also in ConfigMap ${unseenConfigMaps.join(', ')}, not visible here)` : '';
  return (
    `adaptive tail on, ${tail.because}: ${INJECTED_TAIL_MODE}=adaptive, ${INJECTED_TAIL_METRICS_URL}=${tail.metricsUrl} ` +
    `(the tail ends once the app has no request in flight, never later than the fixed tail; DRAINER_TAIL_MODE wins where set${unseen}; ${ANNOTATIONS.tail}: fixed turns it off)`
  );
}

function termMs(plan: Plan, name: PlanTermName): number {
  return plan.terms.find((t) => t.name === name)?.ms ?? 0;
}

/** Exactly the hook the injector writes: httpGet /prestop on the drainer's port, with the token if there is one, nothing else. */
function isOurHook(hook: unknown, port: number, token: string | undefined): boolean {
  if (!isObject(hook) || Object.keys(hook).length !== 1 || !isObject(hook.httpGet)) return false;
  const get = hook.httpGet;
  const headers = arr(get.httpHeaders);
  const sendsToken = token === undefined ? headers.length === 0 : headers.length === 1 && headers[0]!.name === DRAINER_TOKEN_HEADER && headers[0]!.value === token;
  const keys = Object.keys(get).filter((k) => !(k === 'scheme' && get.scheme === 'HTTP') && k !== 'httpHeaders');
  return get.path === '/prestop' && (get.port === port || get.port === String(port)) && sendsToken && keys.every((k) => k === 'path' || k === 'port');
}

/** The env defaults whose names the pod does not set: in the app's env the drainer copies, or in a ConfigMap the injector sees. */
function defaultsNotSet(defaults: readonly EnvDefault[], copied: readonly Json[], fromConfigMaps: Readonly<Record<string, string>>): Json[] {
  return defaults.filter((d) => fromConfigMaps[d.name] === undefined && !copied.some((e) => e.name === d.name)).map((d) => ({ name: d.name, value: d.value }));
}

/**
 * The app's env entries the drainer reads (its own DRAINER_* names and the Spring names it falls back to), in
 * the app's order, plus the entries they refer to with $(NAME). Secret-backed entries only for what the
 * drainer needs to reach Eureka at all; the token never.
 */
function copyAppEnv(env: readonly Json[]): { readonly env: Json[]; readonly skipped: string[] } | { readonly problem: string } {
  const wanted = new Set<number>();
  const skipped: string[] = [];
  const isSecret = (e: Json): boolean => isObject(e.valueFrom) && isObject(e.valueFrom.secretKeyRef);
  env.forEach((e, i) => {
    const name = String(e.name);
    if (!DRAINER_READS.has(name) || OWN_NAMES.has(name)) return;
    if (TOKEN_NAMES.has(name)) {
      skipped.push(`env ${name} (the injected hook sends no token)`);
      return;
    }
    if (isSecret(e) && !SECRET_NAMES_COPIED.has(name)) {
      skipped.push(`env ${name} (a Secret it does not need)`);
      return;
    }
    wanted.add(i);
  });
  // $(NAME) in a copied value refers to an earlier entry of the app's env: copy that one too (transitively).
  const queue = [...wanted];
  while (queue.length > 0) {
    const entry = env[queue.pop()!]!;
    if (typeof entry.value !== 'string') continue;
    for (const match of entry.value.matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)) {
      const index = env.findIndex((e) => e.name === match[1]);
      if (index < 0 || wanted.has(index) || OWN_NAMES.has(match[1]!)) continue;
      if (isSecret(env[index]!) || TOKEN_NAMES.has(match[1]!)) {
        return { problem: `the app's env ${String(entry.name)} refers to $(${match[1]}), a Secret the drainer is not given` };
      }
      wanted.add(index);
      queue.push(index);
    }
  }
  return { env: env.filter((_, i) => wanted.has(i)).map((e) => structuredClone(e)), skipped };
}
