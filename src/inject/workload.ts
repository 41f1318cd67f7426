/**
 * Where the pod template is in each workload kind. Kinds are matched with their API group, so a custom
 * resource that happens to be called "Deployment" is not taken for one.
 */

import { isObject, type Json } from '../json';

export { isObject, type Json };

/** kind → the API groups it is served from, and the path from the object to its pod template. */
const KINDS: Readonly<Record<string, { readonly groups: readonly string[]; readonly template: readonly string[] | null }>> = {
  Pod: { groups: [''], template: null },
  Deployment: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  StatefulSet: { groups: ['apps'], template: ['spec', 'template'] },
  DaemonSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  Job: { groups: ['batch'], template: ['spec', 'template'] },
  CronJob: { groups: ['batch'], template: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export const WORKLOAD_KINDS: readonly string[] = Object.keys(KINDS);

export interface Workload {
  readonly kind: string;
  /** `Deployment shop/orders` (namespace omitted when the object has none). */
  readonly label: string;
  readonly namespace: string | undefined;
  /** The object's own metadata (the Pod's is also its template's). */
  readonly metadata: Json;
  /** The pod template's metadata and spec: references into the object, so changing them changes it. */
  readonly podMetadata: Json;
  readonly podSpec: Json;
  /** A Job or CronJob: its pod must be able to complete. */
  readonly runsToCompletion: boolean;
}

function group(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The object's kind when it is one of the workload kinds, else undefined. */
export function workloadKind(object: unknown): string | undefined {
  if (!isObject(object) || typeof object.kind !== 'string') return undefined;
  const entry = KINDS[object.kind];
  const g = group(object.apiVersion);
  return entry && g !== undefined && entry.groups.includes(g) ? object.kind : undefined;
}

export function describeObject(object: unknown): string {
  if (!isObject(object)) return 'not an object';
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '(no name)';
  const ns = typeof metadata.namespace === 'string' ? `${metadata.namespace}/` : '';
  return `${typeof object.kind === 'string' ? object.kind : '(no kind)'} ${ns}${name}`;
}

/**
 * The workload's pod template in `object` (which the caller owns: a copy). Creates the template's metadata
 * when it has none; returns a problem when a workload kind has no pod template.
 */
export function locateWorkload(object: Json): Workload | { readonly problem: string } | undefined {
  const kind = workloadKind(object);
  if (!kind) return undefined;
  const label = describeObject(object);
  if (!isObject(object.metadata)) object.metadata = {};
  const metadata = object.metadata as Json;
  let template: Json = object;
  for (const key of KINDS[kind]!.template ?? []) {
    const next = template[key];
    if (!isObject(next)) return { problem: `${label} has no ${KINDS[kind]!.template!.join('.')} (no pod template to inject into)` };
    template = next;
  }
  if (!isObject(template.spec) || !Array.isArray(template.spec.containers)) return { problem: `${label}: the pod spec has no containers` };
  if (!isObject(template.metadata)) template.metadata = {};
  return {
    kind,
    label,
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    metadata,
    podMetadata: template.metadata as Json,
    podSpec: template.spec,
    runsToCompletion: kind === 'Job' || kind === 'CronJob',
  };
}

/** String-valued annotations of a metadata object (anything else is ignored, as the API server would refuse it). */
export function annotationsOf(metadata: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const annotations = isObject(metadata) && isObject(metadata.annotations) ? metadata.annotations : {};
  for (const [k, v] of Object.entries(annotations)) if (typeof v === 'string') out[k] = v;
  return out;
}
