/**
 * The workloads the cluster tests run are the shipped manifests (k8s/classic-sidecar.yaml, k8s/native-sidecar.yaml,
 * and the Kustomize component rendered by the real kustomize in kubectl), with only what must differ here
 * substituted; every substitution is returned (and printed by the tests):
 *
 * - the app container is the user's, so it is ours: the real demo-service jar (test/e2e/spring) run by the
 *   node's JDK, mounted read-only from the node (image `eureka-drainer.test/host-runtime:1`, cluster.sh), with
 *   Spring's own settings for its name, Eureka URLs, pod IP and graceful shutdown; its ports, preStop hook and
 *   readiness probe stay the manifest's;
 * - the drainer container keeps the manifest's image (the one `npm run image` built and `cluster.sh import`
 *   loaded; `imagePullPolicy: Never`, there is no registry), hooks, probes, resources and security context;
 *   its env gets the Eureka URLs, the app's name, and the scaled timings (stack.ts SCALED);
 * - terminationGracePeriodSeconds and DRAINER_GRACE_PERIOD_SECONDS: the scaled grace, the same in both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, cpSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { jarPath } from '../../../e2e/support/spring-app';
import { USER_DEPLOYMENT } from '../../../e2e/stack/manifest';
import { SCALED, SCALED_GRACE_SECONDS, type StackTimings } from '../../../e2e/stack/stack';
import type { Json } from './kube';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
export const HOST_RUNTIME_IMAGE = 'eureka-drainer.test/host-runtime:1';
export type WorkloadSource = 'k8s/classic-sidecar.yaml' | 'k8s/native-sidecar.yaml' | 'k8s/component';

export interface WorkloadOptions {
  readonly source: WorkloadSource;
  readonly name: string;
  readonly replicas: number;
  readonly eurekaUrls: string;
  readonly timings?: StackTimings;
  readonly graceSeconds?: number;
  /** Extra drainer env (wins). */
  readonly drainerEnv?: Readonly<Record<string, string>>;
  /** Tolerate the cordoned node (a one-node `kubectl drain` leaves replacements Pending otherwise). */
  readonly tolerateUnschedulable?: boolean;
}

export interface Workload {
  /** The objects to apply: the Deployment, and the ConfigMap the component's drainer reads. */
  readonly objects: Json[];
  readonly deployment: Json;
  /** name → [the manifest's value, the value here]. */
  readonly substituted: Record<string, readonly [string | undefined, string]>;
}

const obj = (v: unknown): Json => v as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

function deploymentOf(source: WorkloadSource): Json {
  if (source === 'k8s/component') return renderWithKustomize();
  const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, source), 'utf8')).map((d) => d.toJSON() as Json);
  const deployment = docs.find((d) => d?.['kind'] === 'Deployment');
  if (!deployment) throw new Error(`${source}: no Deployment`);
  return deployment;
}

/** The component applied by the real kustomize (kubectl's) onto the plain Deployment of the stack tests. */
export function renderWithKustomize(): Json {
  const dir = mkdtempSync(join(tmpdir(), 'edk8s-kustomize-'));
  cpSync(join(ROOT, 'k8s', 'component'), join(dir, 'component'), { recursive: true });
  writeFileSync(join(dir, 'deployment.yaml'), YAML.stringify(USER_DEPLOYMENT));
  writeFileSync(join(dir, 'kustomization.yaml'), YAML.stringify({ resources: ['deployment.yaml'], components: ['component'] }));
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return YAML.parse(out) as Json;
}

/** The node's JDK, and what the pod must mount read-only to run it: /usr, and the JDK's /etc links. */
export function nodeJava(): { java: string; mounts: string[] } {
  const home = process.env['JAVA_HOME'];
  const java = realpathSync(home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : execFileSync('which', ['java'], { encoding: 'utf8' }).trim());
  const mounts = ['/usr'];
  if (!java.startsWith('/usr/')) mounts.push(dirname(dirname(java)));
  for (const entry of readdirSync('/etc')) if (/^java-\d+-openjdk$/.test(entry)) mounts.push(`/etc/${entry}`);
  if (existsSync('/etc/ssl/certs/java')) mounts.push('/etc/ssl/certs/java');
  return { java, mounts };
}

/** Sets (or adds) one env variable of a container, recording the manifest's value and the new one in `substituted`. */
export function setEnv(container: Json, name: string, value: string, substituted: Workload['substituted'], label: string): void {
  const env = arr(container['env']);
  const existing = env.find((e) => e['name'] === name);
  substituted[`${label} ${name}`] = [existing ? String((existing['value'] as string | undefined) ?? JSON.stringify(existing['valueFrom'])) : undefined, value];
  if (existing) {
    delete existing['valueFrom'];
    existing['value'] = value;
  } else env.push({ name, value });
  container['env'] = env;
}

export function workload(options: WorkloadOptions): Workload {
  const t = options.timings ?? SCALED;
  const grace = options.graceSeconds ?? SCALED_GRACE_SECONDS;
  const deployment = structuredClone(deploymentOf(options.source));
  const substituted: Record<string, readonly [string | undefined, string]> = {};
  const labels = { app: options.name, 'eureka-drainer': 'enabled' };
  deployment['metadata'] = { ...obj(deployment['metadata']), name: options.name, labels };
  const spec = obj(deployment['spec']);
  spec['replicas'] = options.replicas;
  spec['selector'] = { matchLabels: { app: options.name } };
  const template = obj(spec['template']);
  template['metadata'] = { ...obj(template['metadata']), labels };
  const pod = obj(template['spec']);
  substituted['terminationGracePeriodSeconds'] = [String(pod['terminationGracePeriodSeconds']), String(grace)];
  pod['terminationGracePeriodSeconds'] = grace;
  if (options.tolerateUnschedulable) pod['tolerations'] = [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }];

  const containers = [...arr(pod['initContainers']), ...arr(pod['containers'])];
  const drainer = containers.find((c) => String(c['image']).includes('eureka-drainer'));
  const app = arr(pod['containers']).find((c) => c !== drainer);
  if (!drainer || !app) throw new Error(`${options.source}: no drainer or no app container`);
  drainer['imagePullPolicy'] = 'Never';
  // Another build of the drainer under another tag (an older commit, to see a test fail on the bug it pins).
  const otherImage = process.env['EUREKA_DRAINER_TEST_IMAGE'];
  if (otherImage) {
    substituted['drainer image'] = [String(drainer['image']), otherImage];
    drainer['image'] = otherImage;
  }

  // The app: the demo-service fixture on the node's JDK.
  const { java, mounts } = nodeJava();
  substituted['app image'] = [String(app['image']), HOST_RUNTIME_IMAGE];
  app['image'] = HOST_RUNTIME_IMAGE;
  app['imagePullPolicy'] = 'Never';
  app['command'] = [java, '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k', '-Xmx256m', '-jar', '/fixtures/demo-service.jar', '--server.address=0.0.0.0', '--server.port=8080'];
  app['env'] = [
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'EUREKA_INSTANCE_IPADDRESS', value: '$(POD_IP)' },
    { name: 'SPRING_APPLICATION_NAME', value: 'demo' },
    { name: 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', value: options.eurekaUrls },
    { name: 'SERVER_SHUTDOWN', value: 'graceful' },
    { name: 'SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE', value: '10s' },
  ];
  app['volumeMounts'] = [
    ...mounts.map((path, i) => ({ name: `node-${i}`, mountPath: path, readOnly: true })),
    { name: 'fixtures', mountPath: '/fixtures', readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  pod['volumes'] = [
    ...arr(pod['volumes']),
    ...mounts.map((path, i) => ({ name: `node-${i}`, hostPath: { path, type: 'Directory' } })),
    { name: 'fixtures', hostPath: { path: dirname(jarPath('demo-service')), type: 'Directory' } },
    { name: 'tmp', emptyDir: {} },
  ];
  // The readiness group exists only once Spring Boot knows it runs on Kubernetes (it does here: the kubelet sets
  // KUBERNETES_SERVICE_HOST); the JVM needs a while on 2 cores.
  if (app['readinessProbe']) obj(app['readinessProbe'])['failureThreshold'] = 60;

  // The drainer: the manifest's, with this world's Eureka, the app's name and the scaled timings.
  const env: Record<string, string> = {
    DRAINER_EUREKA_URLS: options.eurekaUrls,
    DRAINER_APP_NAME: 'demo',
    DRAINER_GRACE_PERIOD_SECONDS: String(grace),
    DRAINER_APP_SHUTDOWN_SECONDS: '10',
    DRAINER_TAIL_SECONDS: String(t.tailSeconds),
    EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(t.serverCacheMs),
    EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: String(t.fetchSeconds),
    SPRING_CLOUD_LOADBALANCER_CACHE_TTL: `${t.lbTtlMs}ms`,
    DRAINER_VERIFY_POLL_MS: '100',
    ...(options.drainerEnv ?? {}),
  };
  for (const [name, value] of Object.entries(env)) setEnv(drainer, name, value, substituted, 'drainer');

  const objects: Json[] = [deployment];
  if (arr(drainer['envFrom']).length > 0) {
    // The component's drainer reads the app's ConfigMap (docs/kubernetes.md: the user writes it); here, with this world's values.
    objects.unshift({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'eureka-drainer' },
      data: { SPRING_APPLICATION_NAME: 'demo', SERVER_PORT: '8080', EUREKA_CLIENT_SERVICEURL_DEFAULTZONE: options.eurekaUrls, DRAINER_GRACE_PERIOD_SECONDS: String(grace) },
    });
  }
  return { objects, deployment, substituted };
}

/** The instance id the demo fixture registers with: `${ip}:demo:${port}`. */
export const podInstanceId = (podIp: string): string => `${podIp}:demo:8080`;
