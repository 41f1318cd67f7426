/**
 * Injection as the real apiserver does it, for the webhook tests (webhook.test.ts: k8s/webhook; helm.test.ts: the
 * chart): light pods an opted-in namespace's webhook injects, what injection left in a stored pod, and dry-run
 * pods that tell whether the apiserver calls a webhook that injects now.
 */
import { pollUntil } from '../../../e2e/support/poll';
import { sleepingPod } from './check-pods';
import { apply, kubectl, kubectlJson, type Json } from './kube';

export const DRAINER = 'eureka-drainer';

const obj = (v: unknown): Json => (v ?? {}) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** A pod that only has to exist, with what an opted-in Spring pod has for the injector: a port, its name and Eureka URL (these pods are never drained). */
export function lightPodSpec(): Json {
  return { ...(sleepingPod('hello', { appEnv: true })['spec'] as Json), terminationGracePeriodSeconds: 5 };
}

export function lightPod(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Json {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name, ...labels }, annotations }, spec: lightPodSpec() };
}

/** What injection left in a pod as the apiserver stored it. */
export interface Injection {
  readonly drainers: number;
  readonly marker?: string;
  /** The drainer's image, when there is one. */
  readonly image?: string;
  readonly preStop?: Json;
  readonly containers: string[];
}

export function injectionOf(pod: Json): Injection {
  const spec = obj(pod['spec']);
  const all = [...arr(spec['initContainers']), ...arr(spec['containers'])];
  const app = arr(spec['containers']).find((c) => c['name'] === 'app');
  const drainer = all.find((c) => c['name'] === DRAINER);
  const marker = obj(obj(pod['metadata'])['annotations'])['eureka-drainer/injected'];
  return {
    drainers: all.filter((c) => c['name'] === DRAINER).length,
    ...(typeof marker === 'string' ? { marker } : {}),
    ...(drainer ? { image: String(drainer['image']) } : {}),
    ...(app && obj(app['lifecycle'])['preStop'] ? { preStop: obj(obj(app['lifecycle'])['preStop']) } : {}),
    containers: all.map((c) => String(c['name'])),
  };
}

export async function createPod(namespace: string, pod: Json): Promise<Json> {
  await apply([pod], namespace);
  return kubectlJson(['get', 'pod', String(obj(pod['metadata'])['name']), '-n', namespace]);
}

/** A pod dry-run through the apiserver (the webhooks are called, nothing is stored): is it injected now? */
export async function injectsNow(namespace: string): Promise<boolean> {
  const pod = { ...lightPod('probe'), metadata: { generateName: 'probe-', labels: { app: 'probe' } } };
  const created = JSON.parse(await kubectl(['create', '--dry-run=server', '-n', namespace, '-o', 'json', '-f', '-'], JSON.stringify(pod))) as Json;
  return injectionOf(created).drainers === 1;
}

export function waitInjecting(namespace: string, expected: boolean, timeoutMs = 60_000): Promise<true> {
  return pollUntil(`pods in ${namespace} ${expected ? '' : 'not '}injected`, async () => ((await injectsNow(namespace)) === expected ? true : undefined), timeoutMs, 500);
}
