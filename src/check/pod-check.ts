/**
 * What `eureka-drainer check` finds wrong with one pod, by the rules the rest of the drainer already has:
 * whether the webhook would have injected it (injectWorkload), the grace period its drainer needs (graceFor,
 * the start-up plan), the hook the injector writes, and the image the injector writes. Pure: pod JSON as the
 * apiserver returns it in, findings out.
 */
import { ANNOTATIONS } from '../inject/annotations';
import { DEFAULT_DRAINER_PORT, DRAINER_CONTAINER_NAME } from '../inject/drainer-container';
import { graceFor, visibleEnv, type ConfigMaps } from '../inject/grace';
import { DEFAULTS, injectWorkload } from '../inject/inject';
import { annotationsOf, isObject, type Json } from '../inject/workload';
import { formatMs } from '../duration';
import { OPT_IN_KEY, OPT_IN_VALUE, type ReviewRoute } from '../webhook/review';
import { webhookRoute, type Labels } from './scope';

/** Stable names for scripts (`--output json`) and the table's PROBLEM column. */
export type ProblemKind = 'no-drainer' | 'grace' | 'prestop' | 'image' | 'settings';
export const PROBLEM_KINDS: readonly ProblemKind[] = ['no-drainer', 'grace', 'prestop', 'image', 'settings'];

export interface Problem {
  readonly kind: ProblemKind;
  readonly message: string;
}

/** Why the pod was looked at: a webhook entry is called for it, or it carries the drainer anyway. */
export type Coverage = ReviewRoute | 'has-drainer';

export interface PodCheck {
  readonly namespace: string;
  readonly name: string;
  readonly coverage: Coverage;
  /** How the drainer runs: a native sidecar (in initContainers), classic (in containers), or absent. */
  readonly drainer: 'native' | 'classic' | 'none';
  readonly problems: readonly Problem[];
  /** What the check could not see, so a clean result is read for what it is. */
  readonly notes: readonly string[];
}

export interface PodContext {
  /** The namespace's labels; undefined when they could not be read (then only pod labels opt in). */
  readonly namespaceLabels: Labels | undefined;
  /** The ConfigMaps of the pod's namespace that were read, by name → data; others count as unseen. */
  readonly configMaps: ConfigMaps;
  /** The image the drainer should run: this release's unless the operator says otherwise (`--image`). */
  readonly image: string;
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
function labelsOf(metadata: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObject(metadata) && isObject(metadata.labels) ? metadata.labels : {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The drainer container and how it runs, or undefined. */
function findDrainer(spec: Json): { readonly container: Json; readonly runs: 'native' | 'classic' } | undefined {
  const init = arr(spec.initContainers).find((c) => c.name === DRAINER_CONTAINER_NAME);
  if (init) return { container: init, runs: 'native' };
  const classic = arr(spec.containers).find((c) => c.name === DRAINER_CONTAINER_NAME);
  return classic ? { container: classic, runs: 'classic' } : undefined;
}

/** The ConfigMaps each pod's drainer reads (envFrom and env valueFrom), by namespace: what the shell should fetch. */
export function configMapsToRead(pods: readonly unknown[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const pod of pods.filter(isObject)) {
    const drainer = findDrainer(isObject(pod.spec) ? pod.spec : {});
    if (!drainer) continue;
    const names = [
      ...arr(drainer.container.envFrom).map((f) => (isObject(f.configMapRef) ? str(f.configMapRef.name) : '')),
      ...arr(drainer.container.env).map((e) => (isObject(e.valueFrom) && isObject(e.valueFrom.configMapKeyRef) ? str(e.valueFrom.configMapKeyRef.name) : '')),
    ].filter((n) => n !== '');
    if (names.length === 0) continue;
    const namespace = str(isObject(pod.metadata) ? pod.metadata.namespace : '');
    const set = out.get(namespace) ?? new Set<string>();
    for (const name of names) set.add(name);
    out.set(namespace, set);
  }
  return out;
}

/** The pod's findings, or undefined when the check does not cover it (no drainer, no webhook entry, or finished). */
export function checkPod(pod: unknown, context: PodContext): PodCheck | undefined {
  if (!isObject(pod) || !isObject(pod.metadata) || !isObject(pod.spec)) return undefined;
  // A finished pod never stops again; whatever it lacked no longer matters.
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const namespace = str(pod.metadata.namespace);
  const name = str(pod.metadata.name);
  const route = webhookRoute(namespace, context.namespaceLabels ?? {}, labelsOf(pod.metadata));
  const drainer = findDrainer(pod.spec);

  if (!drainer) {
    if (route === undefined) return undefined;
    // The webhook's own decision for this pod, as it would be made now.
    const verdict = injectWorkload({ apiVersion: 'v1', kind: 'Pod', ...pod }, { defaults: DEFAULTS, namespaceAnnotations: { [OPT_IN_KEY]: OPT_IN_VALUE } });
    if (verdict.kind === 'unchanged') return undefined; // opted out by annotation
    const where = route === 'namespace' ? `namespace ${namespace} is labelled ${OPT_IN_KEY}=${OPT_IN_VALUE}` : `the pod is labelled ${OPT_IN_KEY}=${OPT_IN_VALUE}`;
    const message =
      verdict.kind === 'refused'
        ? `${where} but the pod has no drainer: the webhook refuses it (${verdict.reason})`
        : `${where} but the pod has no drainer: it was created while the webhook was not installed, down or not trusted by the apiserver (failurePolicy: Ignore); recreate it (kubectl rollout restart)`;
    return { namespace, name, coverage: route, drainer: 'none', problems: [{ kind: 'no-drainer', message }], notes: [] };
  }

  const problems: Problem[] = [];
  const notes: string[] = [];
  const visible = visibleEnv(arr(drainer.container.envFrom), arr(drainer.container.env), context.configMaps);
  for (const cm of visible.unseenConfigMaps) notes.push(`ConfigMap ${cm} could not be read: its values were taken as the defaults`);
  const port = drainerPort(visible.env.DRAINER_PORT);

  // The grace period: the plan the drainer makes at start, against what the kubelet will give it.
  const podGraceSeconds = typeof pod.spec.terminationGracePeriodSeconds === 'number' ? pod.spec.terminationGracePeriodSeconds : 30;
  const grace = graceFor(visible, podGraceSeconds);
  if (!grace.ok) problems.push({ kind: 'settings', message: grace.problem });
  else {
    if (podGraceSeconds < grace.requiredSeconds) {
      problems.push({
        kind: 'grace',
        message:
          `terminationGracePeriodSeconds ${podGraceSeconds} is shorter than the ${grace.requiredSeconds}s the drain needs ` +
          `(drain ${formatMs(grace.plan.drainMs)} + app shutdown + margin); set it and DRAINER_GRACE_PERIOD_SECONDS to at least ${grace.requiredSeconds}`,
      });
    }
    // The drainer budgets its steps from DRAINER_GRACE_PERIOD_SECONDS (the Downward API cannot show it the pod's).
    const drainerGraceSeconds = grace.plan.gracePeriodMs / 1000;
    const known = visible.env.DRAINER_GRACE_PERIOD_SECONDS !== undefined || visible.unseenConfigMaps.length === 0;
    if (known && drainerGraceSeconds !== podGraceSeconds) {
      problems.push({
        kind: 'grace',
        message:
          `DRAINER_GRACE_PERIOD_SECONDS is ${visible.env.DRAINER_GRACE_PERIOD_SECONDS ?? `unset (${drainerGraceSeconds})`} but terminationGracePeriodSeconds is ${podGraceSeconds}: ` +
          (drainerGraceSeconds > podGraceSeconds ? 'the drainer counts on time the kubelet will not give' : 'the drainer cuts its drain shorter than it has to') +
          '; set both to the same value',
      });
    }
  }

  const preStop = preStopProblem(pod, drainer.container, drainer.runs, port);
  if (preStop) problems.push({ kind: 'prestop', message: preStop });

  const image = str(drainer.container.image);
  if (image !== context.image && !image.startsWith(`${context.image}@`)) {
    problems.push({ kind: 'image', message: `the drainer runs ${image || '(no image)'}, not ${context.image}` });
  }
  return { namespace, name, coverage: route ?? 'has-drainer', drainer: drainer.runs, problems, notes };
}

/** DRAINER_PORT as the drainer reads it; a value it would refuse is a settings problem graceFor reports. */
function drainerPort(value: string | undefined): number {
  const port = value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : DEFAULT_DRAINER_PORT;
}

/** What is wrong with the hooks that start and join the drain, or undefined. */
function preStopProblem(pod: Json, drainer: Json, runs: 'native' | 'classic', port: number): string | undefined {
  const spec = pod.spec as Json;
  const apps = arr(spec.containers).filter((c) => c.name !== DRAINER_CONTAINER_NAME);
  const named = annotationsOf(pod.metadata)[ANNOTATIONS.appContainer];
  const target = `the drainer's /prestop on port ${port}`;
  if (named !== undefined) {
    const app = apps.find((c) => c.name === named);
    if (!app) return `${ANNOTATIONS.appContainer} names ${JSON.stringify(named)}, but the containers are ${apps.map((c) => str(c.name)).join(', ')}`;
    const problem = appHookProblem(app, port, target);
    if (problem) return problem;
  } else if (apps.length === 1) {
    const problem = appHookProblem(apps[0]!, port, target);
    if (problem) return problem;
  } else if (!apps.some((c) => callsDrainer(preStopOf(c), c, '/prestop', port))) {
    return `none of the containers ${apps.map((c) => str(c.name)).join(', ')} has a preStop that calls ${target} (${ANNOTATIONS.appContainer} says which is the app)`;
  }
  // A classic sidecar gets SIGTERM together with the app's hook: its own hook holds it until the drain is done.
  if (runs === 'classic' && !callsDrainer(preStopOf(drainer), drainer, '/prestop/join', port)) {
    return `the drainer runs as a classic sidecar and its preStop (${describeHook(preStopOf(drainer))}) is not GET /prestop/join on port ${port}: it is stopped while the drain runs`;
  }
  return undefined;
}

function appHookProblem(app: Json, port: number, target: string): string | undefined {
  const hook = preStopOf(app);
  if (hook === undefined) return `app container ${str(app.name)} has no preStop: the kubelet stops it at once, while callers still send it requests`;
  if (!callsDrainer(hook, app, '/prestop', port)) return `app container ${str(app.name)}'s preStop (${describeHook(hook)}) does not call ${target}`;
  return undefined;
}

function preStopOf(container: Json): unknown {
  return isObject(container.lifecycle) ? container.lifecycle.preStop : undefined;
}

/** An httpGet on the pod's own address (the kubelet's default host) or loopback, plain HTTP, at `path` on the drainer's port. */
function callsDrainer(hook: unknown, container: Json, path: string, port: number): boolean {
  if (!isObject(hook) || !isObject(hook.httpGet)) return false;
  const get = hook.httpGet;
  const host = str(get.host);
  if (host !== '' && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') return false;
  if (get.scheme !== undefined && get.scheme !== 'HTTP') return false;
  if (get.path !== path) return false;
  // A named port is looked up in the ports of the container the hook belongs to.
  const named = typeof get.port === 'string' && !/^\d+$/.test(get.port) ? arr(container.ports).find((p) => p.name === get.port)?.containerPort : get.port;
  return Number(named) === port;
}

function describeHook(hook: unknown): string {
  if (!isObject(hook)) return 'none';
  if (isObject(hook.httpGet)) return `httpGet ${str(hook.httpGet.path) || '/'} on port ${String(hook.httpGet.port)}${hook.httpGet.host ? ` of ${str(hook.httpGet.host)}` : ''}`;
  if (isObject(hook.exec)) return `exec ${(Array.isArray(hook.exec.command) ? hook.exec.command.map(String).join(' ') : '').slice(0, 80)}`;
  if (isObject(hook.sleep)) return `sleep ${String(hook.sleep.seconds)}s`;
  if (isObject(hook.tcpSocket)) return `tcpSocket on port ${String(hook.tcpSocket.port)}`;
  return JSON.stringify(hook).slice(0, 80);
}
