/**
 * The pods the stack tests terminate are read from the shipped manifests in k8s/, so a change to a manifest
 * changes what is tested:
 *
 *   k8s/classic-sidecar.yaml   the drainer in spec.containers, with its own preStop
 *   k8s/native-sidecar.yaml    the drainer as a restartable init container
 *   k8s/component              the Kustomize component rendered onto a plain Deployment (its JSON 6902 patch,
 *                              applied here by a small `add`-only implementation, the only op it uses)
 *   any other file path        e.g. what `eureka-drainer inject` wrote for test/e2e/stack/fixtures/demo-deployment.yaml
 *                              (injected-pod.test.ts); ConfigMaps and Secrets in the file are used for envFrom/keyRefs
 *
 * From the manifest: which container is the drainer and which the app, the sidecar kind (initContainers +
 * `restartPolicy: Always` → native), every container's preStop httpGet (path, port resolved like the kubelet's
 * resolvePort — in the hook's own container —, httpHeaders), terminationGracePeriodSeconds, the drainer's probes,
 * and the drainer's env (values, fieldRef, secretKeyRef against the Secret in the same file, envFrom).
 *
 * Substituted, and only these (every one is listed in `ManifestPod.substituted`): addresses (pod IP, node IP,
 * pod name, the Eureka URLs, the app's port, the ports the processes listen on here), the app's Eureka name (the
 * fixture registers as "demo"), and the scaled timings (grace period, app shutdown, tail, the fleet's cache
 * intervals, the verification poll). Anything else in the manifest reaches the drainer verbatim.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { HttpGetHook, SidecarKind } from './kubelet';

const ROOT = resolve(__dirname, '..', '..', '..');

export type ManifestSource = 'k8s/classic-sidecar.yaml' | 'k8s/native-sidecar.yaml' | 'k8s/component';
export const MANIFESTS: readonly ManifestSource[] = ['k8s/classic-sidecar.yaml', 'k8s/native-sidecar.yaml', 'k8s/component'];

/** A preStop or probe httpGet as the manifest states it (port resolved to the container's number). */
export interface ManifestHttpGet {
  readonly path: string;
  readonly port: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ManifestProbe extends ManifestHttpGet {
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
}

export interface ManifestContainer {
  readonly name: string;
  /** containerPorts by name (and number). */
  readonly ports: readonly { name?: string; containerPort: number }[];
  /** The resolved environment (drainer: with the substitutions applied). */
  readonly env: Readonly<Record<string, string>>;
  readonly preStop?: ManifestHttpGet;
  readonly readinessProbe?: ManifestProbe;
  readonly livenessProbe?: ManifestProbe;
  readonly startupProbe?: ManifestProbe;
}

export interface ManifestPod {
  readonly source: ManifestSource;
  readonly sidecar: SidecarKind;
  /** Substituted by the scaled value; `manifestGraceSeconds` is what the file says. */
  readonly terminationGracePeriodSeconds: number;
  readonly manifestGraceSeconds: number;
  readonly app: ManifestContainer;
  readonly drainer: ManifestContainer;
  /** Every value the test changed: name → [manifest value (undefined: not set there), test value]. */
  readonly substituted: Readonly<Record<string, readonly [string | undefined, string]>>;
}

export interface PodSubstitutions {
  /** status.podIP */
  readonly podIp: string;
  /** status.hostIP */
  readonly nodeIp: string;
  /** metadata.name */
  readonly podName: string;
  /** Replaces the value of DRAINER_EUREKA_URLS / EUREKA_CLIENT_SERVICEURL_DEFAULTZONE. */
  readonly eurekaUrls: string;
  /** Replaces the app container's port wherever the drainer's env names it (DRAINER_APP_PORT / SERVER_PORT). */
  readonly appPort: number;
  /** Replaces DRAINER_APP_NAME / SPRING_APPLICATION_NAME. */
  readonly appName: string;
  /** Replaces terminationGracePeriodSeconds and DRAINER_GRACE_PERIOD_SECONDS (the manifest must set them equal). */
  readonly graceSeconds: number;
  /** Scaled timings and test-only settings: replace the manifest's value, or add it where the manifest leaves the default. */
  readonly env: Readonly<Record<string, string>>;
  /** envFrom configMapRef / configMapKeyRef targets that live outside the file (the user's ConfigMap). */
  readonly configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** secretKeyRef targets that live outside the file. */
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
/** A YAML scalar as the text the kubelet reads; a map or a list where a scalar belongs is a mistake in the manifest. */
function text(v: unknown): string {
  if (typeof v === 'object' && v !== null) throw new Error(`expected a scalar, found ${JSON.stringify(v)} (teach manifest.ts)`);
  return String(v);
}

function documents(file: string): Json[] {
  return YAML.parseAllDocuments(readFileSync(resolve(ROOT, file), 'utf8')).map((d) => d.toJSON() as Json).filter(Boolean);
}

/** RFC 6902 `add` (the only op k8s/component uses): objects get the member, arrays insert at the index or `-`. */
export function applyJsonPatchAdd(target: Json, ops: readonly Json[]): Json {
  const out = structuredClone(target);
  for (const op of ops) {
    if (op.op !== 'add') throw new Error(`k8s/component: unsupported patch op ${String(op.op)} (teach manifest.ts)`);
    const keys = String(op.path).split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = out;
    for (const key of keys.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(key)] : (node as Json)[key];
      if (node === undefined) throw new Error(`k8s/component: patch path ${String(op.path)} does not exist in the target`);
    }
    const last = keys.at(-1)!;
    if (Array.isArray(node)) node.splice(last === '-' ? node.length : Number(last), 0, structuredClone(op.value));
    else (node as Json)[last] = structuredClone(op.value);
  }
  return out;
}

/**
 * The Deployment a user gets from the component: their own Deployment (the app as containers[0], labelled
 * eureka-drainer=enabled) with the component's patches applied to targets that match.
 */
export function renderComponent(userDeployment: Json): Json {
  const kustomization = documents('k8s/component/kustomization.yaml')[0]!;
  let rendered = userDeployment;
  for (const patch of arr(kustomization.patches)) {
    const target = obj(patch.target);
    if (target.kind && target.kind !== rendered.kind) continue;
    const [key, value] = text(target.labelSelector ?? '').split('=');
    if (key && obj(obj(rendered.metadata).labels)[key] !== value) continue;
    rendered = applyJsonPatchAdd(rendered, documents(`k8s/component/${String(patch.path)}`)[0] as unknown as Json[]);
  }
  return rendered;
}

/** The Deployment the component is rendered onto in the tests: an app with its port and nothing else. */
export const USER_DEPLOYMENT: Json = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'orders', labels: { app: 'orders', 'eureka-drainer': 'enabled' } },
  spec: {
    selector: { matchLabels: { app: 'orders' } },
    template: {
      metadata: { labels: { app: 'orders', 'eureka-drainer': 'enabled' } },
      spec: {
        terminationGracePeriodSeconds: 140,
        containers: [{ name: 'app', image: 'registry.example.com/orders:1.0.0', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    },
  },
};

/**
 * The user's ConfigMap `eureka-drainer` the component's drainer reads with envFrom, as docs/kubernetes.md tells them to
 * write it (the app's Spring names, and the grace period repeated): the manifest-side values; the Eureka URLs, app
 * name and port are then substituted like in the other manifests.
 */
export function componentConfigMap(): Record<string, string> {
  const grace = obj(obj(obj(obj(USER_DEPLOYMENT.spec).template).spec)).terminationGracePeriodSeconds;
  return {
    SPRING_APPLICATION_NAME: 'orders',
    SERVER_PORT: '8080',
    EUREKA_CLIENT_SERVICEURL_DEFAULTZONE: 'http://eureka-0.eureka:8761/eureka/,http://eureka-1.eureka:8761/eureka/',
    DRAINER_GRACE_PERIOD_SECONDS: String(grace),
  };
}

/** The objects of a manifest source, Deployments rendered. */
export function manifestObjects(source: ManifestSource): Json[] {
  return source === 'k8s/component' ? [renderComponent(USER_DEPLOYMENT)] : documents(source);
}

/** kubelet resolvePort: a number, a numeric string, or a name looked up in the SAME container's ports. */
function resolvePort(port: unknown, container: Json, what: string): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const found = arr(container.ports).find((p) => p.name === port);
  if (!found) throw new Error(`${what}: port ${JSON.stringify(port)} is not a port of container ${String(container.name)} (the kubelet would fail the hook)`);
  return Number(found.containerPort);
}

function httpGetOf(handler: unknown, container: Json, what: string): ManifestHttpGet | undefined {
  const get = obj(obj(handler).httpGet);
  if (!get.path && !get.port) return undefined;
  const headers: Record<string, string> = {};
  for (const h of arr(get.httpHeaders)) headers[String(h.name)] = String(h.value);
  return { path: text(get.path ?? '/'), port: resolvePort(get.port, container, what), headers };
}

function probeOf(probe: unknown, container: Json, what: string): ManifestProbe | undefined {
  const get = httpGetOf(probe, container, what);
  if (!get) return undefined;
  const p = obj(probe);
  // API defaults: periodSeconds 10, timeoutSeconds 1, failureThreshold 3.
  return { ...get, periodSeconds: Number(p.periodSeconds ?? 10), timeoutSeconds: Number(p.timeoutSeconds ?? 1), failureThreshold: Number(p.failureThreshold ?? 3) };
}

function secretsIn(objects: readonly Json[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const o of objects.filter((x) => x.kind === 'Secret')) {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(o.data))) values[k] = Buffer.from(String(v), 'base64').toString('utf8');
    for (const [k, v] of Object.entries(obj(o.stringData))) values[k] = String(v);
    out[String(obj(o.metadata).name)] = values;
  }
  return out;
}

/** The ConfigMaps of the file by name (a workload written by `eureka-drainer inject` comes with its ConfigMaps). */
function configMapsIn(objects: readonly Json[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
    out[String(obj(o.metadata).name)] = Object.fromEntries(Object.entries(obj(o.data)).map(([k, v]) => [k, String(v)]));
  }
  return out;
}

/** Reads `source` and returns the pod the kubelet would run, with `subs` applied (see the file comment). */
export function podFromManifest(source: ManifestSource, subs: PodSubstitutions): ManifestPod {
  const objects = manifestObjects(source);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (!deployment) throw new Error(`${source}: no Deployment`);
  const spec = obj(obj(obj(deployment.spec).template).spec);
  const containers = arr(spec.containers);
  const inits = arr(spec.initContainers);
  const drainerIn = [...containers, ...inits].filter((c) => text(c.image ?? '').includes('eureka-drainer'));
  if (drainerIn.length !== 1) throw new Error(`${source}: expected one eureka-drainer container, found ${drainerIn.length}`);
  const drainerSpec = drainerIn[0]!;
  const native = inits.includes(drainerSpec);
  if (native && drainerSpec.restartPolicy !== 'Always') throw new Error(`${source}: the drainer is an init container without restartPolicy: Always (it would block the app)`);
  const apps = containers.filter((c) => c !== drainerSpec);
  if (apps.length !== 1) throw new Error(`${source}: expected one app container next to the drainer, found ${apps.length}`);
  const appSpec = apps[0]!;

  const manifestGrace = Number(spec.terminationGracePeriodSeconds ?? 30);
  const substituted: Record<string, readonly [string | undefined, string]> = {};
  // The file's own Secrets and ConfigMaps win: the test only supplies those the file refers to but does not contain.
  const secrets = { ...(subs.secrets ?? {}), ...secretsIn(objects) };
  const configMaps = { ...(subs.configMaps ?? {}), ...configMapsIn(objects) };

  // The drainer's env as the kubelet builds it: envFrom first, then env (env wins).
  const env: Record<string, string> = {};
  for (const from of arr(drainerSpec.envFrom)) {
    const cm = obj(from.configMapRef);
    const sec = obj(from.secretRef);
    const values = cm.name ? configMaps[text(cm.name)] : sec.name ? secrets[text(sec.name)] : undefined;
    if (!values && !(cm.optional ?? sec.optional)) throw new Error(`${source}: envFrom ${String(cm.name ?? sec.name)} is not provided`);
    Object.assign(env, values ?? {});
  }
  for (const e of arr(drainerSpec.env)) {
    const name = String(e.name);
    if (e.value !== undefined) {
      env[name] = text(e.value);
      continue;
    }
    const from = obj(e.valueFrom);
    const field = obj(from.fieldRef).fieldPath;
    const secretRef = obj(from.secretKeyRef);
    const cmRef = obj(from.configMapKeyRef);
    if (field === 'status.podIP') env[name] = subs.podIp;
    else if (field === 'status.hostIP') env[name] = subs.nodeIp;
    else if (field === 'metadata.name') env[name] = subs.podName;
    else if (secretRef.name) {
      const value = secrets[text(secretRef.name)]?.[text(secretRef.key)];
      if (value === undefined) throw new Error(`${source}: secretKeyRef ${text(secretRef.name)}/${text(secretRef.key)} is not provided`);
      env[name] = value;
    } else if (cmRef.name) {
      const value = configMaps[text(cmRef.name)]?.[text(cmRef.key)];
      if (value === undefined) throw new Error(`${source}: configMapKeyRef ${text(cmRef.name)}/${text(cmRef.key)} is not provided`);
      env[name] = value;
    } else throw new Error(`${source}: env ${name}: valueFrom ${JSON.stringify(from)} not understood (teach manifest.ts)`);
    if (field) substituted[name] = [`fieldRef ${text(field)}`, env[name]];
  }

  const set = (name: string, value: string): void => {
    if (env[name] === value) return;
    substituted[name] = [env[name], value];
    env[name] = value;
  };
  const appPortInManifest = arr(appSpec.ports).map((p) => String(p.containerPort));
  for (const name of ['DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE']) if (env[name] !== undefined) set(name, subs.eurekaUrls);
  for (const name of ['DRAINER_APP_NAME', 'SPRING_APPLICATION_NAME']) if (env[name] !== undefined) set(name, subs.appName);
  for (const name of ['DRAINER_APP_PORT', 'SERVER_PORT']) {
    if (env[name] === undefined) continue;
    if (!appPortInManifest.includes(env[name])) throw new Error(`${source}: ${name}=${env[name]} is not a port of the app container (${appPortInManifest.join(', ')})`);
    set(name, String(subs.appPort));
  }
  if (env.DRAINER_GRACE_PERIOD_SECONDS === undefined) throw new Error(`${source}: the drainer does not get DRAINER_GRACE_PERIOD_SECONDS`);
  if (Number(env.DRAINER_GRACE_PERIOD_SECONDS) !== manifestGrace) {
    throw new Error(`${source}: DRAINER_GRACE_PERIOD_SECONDS=${env.DRAINER_GRACE_PERIOD_SECONDS} but terminationGracePeriodSeconds=${manifestGrace}`);
  }
  set('DRAINER_GRACE_PERIOD_SECONDS', String(subs.graceSeconds));
  if (manifestGrace !== subs.graceSeconds) substituted.terminationGracePeriodSeconds = [String(manifestGrace), String(subs.graceSeconds)];
  for (const [name, value] of Object.entries(subs.env)) set(name, value);

  const container = (c: Json, withEnv: Record<string, string>): ManifestContainer => {
    const name = String(c.name);
    const lifecycle = obj(c.lifecycle);
    const preStop = httpGetOf(lifecycle.preStop, c, `${source} ${name} preStop`);
    if (obj(lifecycle.preStop).exec) throw new Error(`${source} ${name}: exec preStop not modelled (teach manifest.ts)`);
    const readinessProbe = probeOf(c.readinessProbe, c, `${source} ${name} readinessProbe`);
    const livenessProbe = probeOf(c.livenessProbe, c, `${source} ${name} livenessProbe`);
    const startupProbe = probeOf(c.startupProbe, c, `${source} ${name} startupProbe`);
    return {
      name,
      ports: arr(c.ports).map((p) => ({ ...(p.name ? { name: text(p.name) } : {}), containerPort: Number(p.containerPort) })),
      env: withEnv,
      ...(preStop ? { preStop } : {}),
      ...(readinessProbe ? { readinessProbe } : {}),
      ...(livenessProbe ? { livenessProbe } : {}),
      ...(startupProbe ? { startupProbe } : {}),
    };
  };
  return {
    source,
    sidecar: native ? 'native' : 'classic',
    terminationGracePeriodSeconds: subs.graceSeconds,
    manifestGraceSeconds: manifestGrace,
    app: container(appSpec, {}),
    drainer: container(drainerSpec, env),
    substituted,
  };
}

/**
 * The ports the processes listen on here for the manifest's container ports (on a node every pod has its own
 * IP, here they share loopback): `{ 8787: <drainer's port>, 8080: <app's port> }`.
 */
export type PortMap = Readonly<Record<number, number>>;

/** A manifest httpGet as the emulator's hook: the pod IP (no host in the manifest), the port mapped. */
export function hookFrom(get: ManifestHttpGet, ports: PortMap): HttpGetHook {
  const port = ports[get.port];
  if (port === undefined) throw new Error(`no process listens for the manifest's port ${get.port} (map it in PortMap)`);
  return { kind: 'httpGet', path: get.path, port, headers: get.headers };
}
