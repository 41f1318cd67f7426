import { resolve } from 'node:path';
import { podTemplateOf, type Container, type Manifest, type ObjectMeta, type PodSpec, type PodTemplate } from '../../helpers/manifest';

export const ROOT = resolve(__dirname, '..', '..', '..');

export { validate } from '../../helpers/k8s-schemas';

/** A Spring Cloud app container as a platform team writes it. */
export function appContainer(extra: Partial<Container> = {}): Container {
  return {
    name: 'app',
    image: 'registry.example.com/orders:1.0.0',
    ports: [{ name: 'http', containerPort: 8080 }],
    env: [
      { name: 'SPRING_APPLICATION_NAME', value: 'orders' },
      { name: 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', value: 'http://eureka-0.eureka:8761/eureka/,http://eureka-1.eureka:8761/eureka/' },
      { name: 'JAVA_OPTS', value: '-Xmx512m' },
    ],
    ...extra,
  };
}

export function podTemplate(annotations: Record<string, string> = { 'eureka-drainer/inject': 'enabled' }, spec: Partial<PodSpec> = {}): PodTemplate {
  return { metadata: { labels: { app: 'orders' }, annotations }, spec: { containers: [appContainer()], ...spec } };
}

const selector = { matchLabels: { app: 'orders' } };

/** One object of each workload kind, each with `template` as its pod template (the Pod: as itself). */
export function workloadOfKind(kind: string, template: PodTemplate = podTemplate()): Manifest {
  const t = structuredClone(template);
  const meta = { name: 'orders', namespace: 'shop' };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: { ...meta, ...t.metadata }, spec: t.spec };
    case 'Deployment':
    case 'ReplicaSet':
      return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { replicas: 2, selector, template: t } };
    case 'StatefulSet':
      return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { serviceName: 'orders', selector, template: t } };
    case 'DaemonSet':
      return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { selector, template: t } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { template: { ...t, spec: { restartPolicy: 'Never', ...t.spec } } } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...t, spec: { restartPolicy: 'OnFailure', ...t.spec } } } } } };
    default:
      throw new Error(kind);
  }
}

export const KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;

/** The pod spec inside any workload kind. */
export const podSpecOf = (object: Manifest): PodSpec => podTemplateOf(object).spec;

export const podMetaOf = (object: Manifest): ObjectMeta => podTemplateOf(object).metadata;
