/**
 * The `eureka-drainer/*` annotations that drive injection: their names, and how they are read from the
 * layers that may carry them (pod template, then the workload's own metadata, then the namespace; the first
 * layer that sets an annotation wins).
 */

export const ANNOTATION_PREFIX = 'eureka-drainer/';

export const ANNOTATIONS = {
  /** `enabled` | `disabled`: opt a workload (or a whole namespace) in or out. */
  inject: 'eureka-drainer/inject',
  /** Written by the injector on the pod template: the version that injected it (the idempotency marker). */
  injected: 'eureka-drainer/injected',
  /** The name of the app container, when the pod has more than one container. */
  appContainer: 'eureka-drainer/app-container',
  /** A ConfigMap with DRAINER_* settings, added to the drainer's envFrom after the app's own ConfigMaps. */
  configMap: 'eureka-drainer/config-map',
  /** `native` (an init container with restartPolicy: Always) | `classic` (a second entry in containers). */
  sidecar: 'eureka-drainer/sidecar',
  /** The drainer's image. */
  image: 'eureka-drainer/image',
  /** The drainer's port (default 8787). */
  port: 'eureka-drainer/port',
  /** The app's port, when its container declares none (or the first is not it). */
  appPort: 'eureka-drainer/app-port',
  /** `adaptive` | `fixed`: the request tail, when the injector should not decide it from the pod (src/inject/adaptive-tail.ts). */
  tail: 'eureka-drainer/tail',
} as const;

const KNOWN: ReadonlySet<string> = new Set(Object.values(ANNOTATIONS));

export type Annotations = Readonly<Record<string, string>>;

/** One place annotations come from, named for messages ("pod template", "namespace shop"). */
export interface AnnotationLayer {
  readonly where: string;
  readonly annotations: Annotations;
}

export interface Found {
  readonly value: string;
  readonly where: string;
}

/** The first layer that sets `name` (pod template first). */
export function lookup(layers: readonly AnnotationLayer[], name: string): Found | undefined {
  for (const layer of layers) {
    const value = layer.annotations[name];
    if (value !== undefined) return { value: String(value).trim(), where: layer.where };
  }
  return undefined;
}

export type OptIn =
  | { readonly state: 'enabled' | 'disabled'; readonly where: string }
  | { readonly state: 'unset' }
  | { readonly state: 'invalid'; readonly problem: string };

/** `eureka-drainer/inject` as the first layer sets it: a pod's `disabled` beats its namespace's `enabled`. */
export function readOptIn(layers: readonly AnnotationLayer[]): OptIn {
  const found = lookup(layers, ANNOTATIONS.inject);
  if (!found) return { state: 'unset' };
  if (found.value === 'enabled' || found.value === 'disabled') return { state: found.value, where: found.where };
  return { state: 'invalid', problem: `${ANNOTATIONS.inject} must be enabled or disabled, got ${JSON.stringify(found.value)} (${found.where})` };
}

/** Annotations with our prefix that we do not know (a typo would otherwise be ignored silently). */
export function unknownAnnotations(layers: readonly AnnotationLayer[]): string[] {
  const out: string[] = [];
  for (const layer of layers) {
    for (const name of Object.keys(layer.annotations)) {
      if (name.startsWith(ANNOTATION_PREFIX) && !KNOWN.has(name)) out.push(`${name} (${layer.where})`);
    }
  }
  return out;
}

export interface DrainerSettings {
  readonly sidecar: 'native' | 'classic';
  readonly image: string;
  readonly port: number;
  readonly appPort?: number;
  readonly appContainer?: string;
  readonly configMap?: string;
  readonly tail?: { readonly value: 'adaptive' | 'fixed'; readonly where: string };
}

/** The settings from the layers over the caller's defaults; every bad value is reported at once. */
export function readSettings(
  layers: readonly AnnotationLayer[],
  defaults: { readonly image: string; readonly sidecar: 'native' | 'classic'; readonly port: number },
): { readonly settings: DrainerSettings } | { readonly problems: readonly string[] } {
  const problems: string[] = [];
  const port = (name: string): number | undefined => {
    const found = lookup(layers, name);
    if (!found) return undefined;
    const value = /^\d+$/.test(found.value) ? Number(found.value) : NaN;
    if (Number.isInteger(value) && value >= 1 && value <= 65_535) return value;
    problems.push(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(found.value)} (${found.where})`);
    return undefined;
  };
  const text = (name: string): string | undefined => {
    const found = lookup(layers, name);
    if (!found) return undefined;
    if (found.value === '') problems.push(`${name} must not be empty (${found.where})`);
    return found.value || undefined;
  };
  const sidecarFound = lookup(layers, ANNOTATIONS.sidecar);
  let sidecar = defaults.sidecar;
  if (sidecarFound) {
    if (sidecarFound.value === 'native' || sidecarFound.value === 'classic') sidecar = sidecarFound.value;
    else problems.push(`${ANNOTATIONS.sidecar} must be native or classic, got ${JSON.stringify(sidecarFound.value)} (${sidecarFound.where})`);
  }
  const tailFound = lookup(layers, ANNOTATIONS.tail);
  let tail: DrainerSettings['tail'];
  if (tailFound) {
    if (tailFound.value === 'adaptive' || tailFound.value === 'fixed') tail = { value: tailFound.value, where: tailFound.where };
    else problems.push(`${ANNOTATIONS.tail} must be adaptive or fixed, got ${JSON.stringify(tailFound.value)} (${tailFound.where})`);
  }
  const image = text(ANNOTATIONS.image) ?? defaults.image;
  const drainerPort = port(ANNOTATIONS.port) ?? defaults.port;
  const appPort = port(ANNOTATIONS.appPort);
  const appContainer = text(ANNOTATIONS.appContainer);
  const configMap = text(ANNOTATIONS.configMap);
  for (const unknown of unknownAnnotations(layers)) problems.push(`unknown annotation ${unknown}; known: ${[...KNOWN].join(', ')}`);
  if (problems.length > 0) return { problems };
  return {
    settings: {
      sidecar,
      image,
      port: drainerPort,
      ...(appPort !== undefined ? { appPort } : {}),
      ...(appContainer !== undefined ? { appContainer } : {}),
      ...(configMap !== undefined ? { configMap } : {}),
      ...(tail !== undefined ? { tail } : {}),
    },
  };
}
