/**
 * Light pods for `eureka-drainer check` on the real cluster, one of each kind it tells apart. The app is `sleep`
 * in the host-runtime image (no JVM: the check reads specs, not behaviour); the drainer is the one the product's
 * injector writes (injectWorkload, src/inject/inject.ts) with the imported release image, then each problem pod
 * gets exactly one thing wrong.
 */
import { injectWorkload, DEFAULTS } from '../../../../src/inject/inject';
import { HOST_RUNTIME_IMAGE } from './workloads';
import type { Json } from './kube';

const USR = { volumes: [{ name: 'usr', hostPath: { path: '/usr', type: 'Directory' } }], mount: { name: 'usr', mountPath: '/usr', readOnly: true } };

/** A pod whose one container sleeps; `appEnv` gives it the settings the injector needs (a Spring app's). */
export function sleepingPod(name: string, options: { labels?: Record<string, string>; appEnv?: boolean } = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, ...(options.labels ?? {}) } },
    spec: {
      containers: [
        {
          name: 'app',
          image: HOST_RUNTIME_IMAGE,
          imagePullPolicy: 'Never',
          command: ['/usr/bin/sleep', '3600'],
          ports: [{ name: 'http', containerPort: 8080 }],
          ...(options.appEnv
            ? {
                env: [
                  { name: 'SPRING_APPLICATION_NAME', value: name },
                  // Nothing listens there: the drainer only has to exist.
                  { name: 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE', value: 'http://127.0.0.1:8761/eureka/' },
                ],
              }
            : {}),
          volumeMounts: [USR.mount],
        },
      ],
      volumes: USR.volumes,
    },
  };
}

/** The pod as the injector (the webhook's function) makes it, the release image left as it writes it. */
export function injectedPod(name: string, options: { sidecar?: 'native' | 'classic'; annotations?: Record<string, string> } = {}): Json {
  const pod = sleepingPod(name, { appEnv: true });
  (pod.metadata as Json).annotations = { 'eureka-drainer/inject': 'enabled', ...(options.annotations ?? {}) };
  const result = injectWorkload(pod, { defaults: { ...DEFAULTS, sidecar: options.sidecar ?? 'native' } });
  if (result.kind !== 'injected') throw new Error(`${name}: not injected: ${result.reason}`);
  const injected = result.object as Json;
  const spec = injected.spec as Json;
  for (const c of [...((spec.initContainers as Json[]) ?? []), ...(spec.containers as Json[])]) if (c.name === 'eureka-drainer') c.imagePullPolicy = 'Never';
  return injected;
}

/** The drainer container of a pod built here. */
export function drainerOf(pod: Json): Json {
  const spec = pod.spec as Json;
  const found = [...((spec.initContainers as Json[]) ?? []), ...(spec.containers as Json[])].find((c) => c.name === 'eureka-drainer');
  if (!found) throw new Error('no drainer');
  return found;
}

export function appOf(pod: Json): Json {
  const found = ((pod.spec as Json).containers as Json[]).find((c) => c.name === 'app');
  if (!found) throw new Error('no app container');
  return found;
}
