/**
 * The drainer container the injector adds: the one in k8s/native-sidecar.yaml (native) or
 * k8s/classic-sidecar.yaml (classic), without the token (test/unit/inject/drainer-container.test.ts
 * compares them field by field, so the examples and the injector cannot drift).
 */
import { VERSION } from '../version';
import type { DrainerResources } from './drainer-defaults';
import type { Json } from './workload';

export const DRAINER_CONTAINER_NAME = 'eureka-drainer';
export const DRAINER_PORT_NAME = 'drainer';
export const DEFAULT_DRAINER_PORT = 8787;

/** This release's image: docker/image.json's repository, tagged with package.json's version (src/version.ts). */
export const DEFAULT_IMAGE = `ghcr.io/eureka-drainer/eureka-drainer:${VERSION}`;

/** The image's V8 heap limits (docker/Dockerfile says why), repeated like the k8s/ examples for images built otherwise. */
export const NODE_OPTIONS = '--max-semi-space-size=1 --max-old-space-size=96';

/**
 * What every injected drainer gets besides the workload's own settings: the Downward API entries (no
 * DRAINER_TOKEN: the guard is loopback, NODE_IP and the pod's default gateway) and the heap limits.
 */
export function downwardEnv(): Json[] {
  return [
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
    { name: 'NODE_OPTIONS', value: NODE_OPTIONS },
  ];
}

/** The header the hooks send the token in (src/http/routes.ts also takes Authorization: Bearer). */
export const DRAINER_TOKEN_HEADER = 'X-Drainer-Token';

/** The app container's preStop: the drainer's /prestop, which blocks until callers have let go; with the drainer's token, if it has one. */
export function appPreStop(port: number, token?: string): Json {
  return { httpGet: { path: '/prestop', port, ...tokenHeader(token) } };
}

function tokenHeader(token: string | undefined): Json {
  return token === undefined ? {} : { httpHeaders: [{ name: DRAINER_TOKEN_HEADER, value: token }] };
}

export interface DrainerContainerOptions {
  readonly sidecar: 'native' | 'classic';
  readonly image: string;
  readonly port: number;
  readonly resources: DrainerResources;
  /** Sent by the classic sidecar's own /prestop/join hook too: the drainer guards that path with it. */
  readonly token: string | undefined;
  readonly envFrom: readonly Json[];
  readonly env: readonly Json[];
}

const SECURITY_CONTEXT = { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

export function drainerContainer(o: DrainerContainerOptions): Json {
  const common = {
    name: DRAINER_CONTAINER_NAME,
    image: o.image,
    ...(o.sidecar === 'native' ? { restartPolicy: 'Always' } : {}),
    ports: [{ name: DRAINER_PORT_NAME, containerPort: o.port }],
    ...(o.envFrom.length > 0 ? { envFrom: o.envFrom.map((e) => structuredClone(e)) } : {}),
    env: o.env.map((e) => structuredClone(e)),
  };
  const tail = { resources: resourcesOf(o.resources), securityContext: structuredClone(SECURITY_CONTEXT) };
  if (o.sidecar === 'native') {
    // Started before the app, stopped after it: the startup probe holds the app back until the drainer listens.
    return {
      ...common,
      startupProbe: { httpGet: { path: '/healthz', port: DRAINER_PORT_NAME }, periodSeconds: 1 },
      readinessProbe: { httpGet: { path: '/readyz', port: DRAINER_PORT_NAME } },
      ...tail,
    };
  }
  // Classic: its own hook joins the drain the app's hook started, so its SIGTERM comes at the end of the drain.
  return {
    ...common,
    lifecycle: { preStop: { httpGet: { path: '/prestop/join', port: o.port, ...tokenHeader(o.token) } } },
    readinessProbe: { httpGet: { path: '/readyz', port: DRAINER_PORT_NAME }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: DRAINER_PORT_NAME }, timeoutSeconds: 5 },
    ...tail,
  };
}

/** Resources as a container writes them: an empty section left out. */
function resourcesOf(r: DrainerResources): Json {
  const sections = { requests: r.requests, limits: r.limits };
  return Object.fromEntries(Object.entries(sections).filter(([, list]) => Object.keys(list).length > 0).map(([k, list]) => [k, { ...list }]));
}
