/**
 * AdmissionReview requests as the apiserver sends them, for each workload kind the injector
 * handles, and the checks their shapes are held to. kubernetes-models has no admission.k8s.io
 * schema (the apiserver does not serve AdmissionReview, so its OpenAPI document, which the models
 * are generated from, has none): the review's own fields are checked by hand against
 * k8s.io/api/admission/v1 (AdmissionRequest, AdmissionResponse); the objects inside are
 * validated against the Kubernetes schemas by test/helpers/k8s-schemas.ts.
 */
import { validateObjects, type Validation } from '../../helpers/k8s-schemas';
import { appContainer } from '../inject/helpers';
import { resolve } from 'node:path';
import type { Container, Manifest, PodTemplate } from '../../helpers/manifest';

/** A parsed JSON object whose fields are not known yet (what the shape checks take apart). */
type Fields = Record<string, unknown>;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** admission/v1 AdmissionRequest, as these fixtures build it. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: { group: string; version: string; resource: string };
  requestKind?: GroupVersionKind;
  requestResource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object: Manifest | null;
  oldObject: Manifest | null;
  dryRun?: boolean;
  options?: Fields;
}

/** admission/v1 AdmissionResponse. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patch?: string;
  patchType?: string;
  warnings?: string[];
  result?: { message?: string; code?: number; [field: string]: unknown };
  auditAnnotations?: Record<string, string>;
}

/** An AdmissionReview: a request as the apiserver sends it, or an answer. */
export interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** A review as admissionReview builds it: the request is there. */
export type RequestReview = AdmissionReview & { request: AdmissionRequest };
/** The webhook's answer: the response is there. */
export type AnswerReview = AdmissionReview & { response: AdmissionResponse };

export const ROOT = resolve(__dirname, '..', '..', '..');

/** The app as the injector needs it: one container with a port, the Eureka URL and the app name. */
export { appContainer };

export interface PodOptions {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly app?: Container;
  readonly restartPolicy?: string;
}

function podTemplate(options: PodOptions = {}): PodTemplate {
  return {
    metadata: { labels: { app: 'orders', ...options.labels }, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: { ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}), containers: [options.app ?? appContainer()] },
  };
}

export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const GROUP_VERSION: Record<WorkloadKind, { group: string; version: string; resource: string }> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
};

/**
 * A workload of `kind` in namespace `shop`. Opt-in annotations and labels go on the pod (template);
 * `ownLabels` on the workload's own metadata (what an objectSelector sees).
 */
export function workload(kind: WorkloadKind, options: PodOptions & { readonly ownLabels?: Record<string, string> } = {}): Manifest {
  const { group, version } = GROUP_VERSION[kind];
  const apiVersion = group === '' ? version : `${group}/${version}`;
  const selector = { matchLabels: { app: 'orders' } };
  const metadata = { name: 'orders', namespace: 'shop', labels: { app: 'orders', ...options.ownLabels } };
  const runsToCompletion = kind === 'Job' || kind === 'CronJob';
  const template = podTemplate({ ...options, ...(runsToCompletion ? { restartPolicy: 'Never' } : {}) });
  switch (kind) {
    case 'Pod':
      // As a ReplicaSet creates it: generateName, no name yet.
      return {
        apiVersion,
        kind,
        metadata: { generateName: 'orders-5d8f7c9b4-', namespace: 'shop', ...template.metadata, labels: { ...template.metadata.labels, ...options.ownLabels } },
        spec: template.spec,
      };
    case 'Deployment':
    case 'ReplicaSet':
      return { apiVersion, kind, metadata, spec: { replicas: 2, selector, template } };
    case 'StatefulSet':
      return { apiVersion, kind, metadata, spec: { serviceName: 'orders', replicas: 2, selector, template } };
    case 'DaemonSet':
      return { apiVersion, kind, metadata, spec: { selector, template } };
    case 'Job':
      return { apiVersion, kind, metadata, spec: { backoffLimit: 1, template } };
    case 'CronJob':
      return { apiVersion, kind, metadata, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } };
  }
}

let uidCounter = 0;

/** A v1 AdmissionReview as the apiserver sends it (Go field order: kind, apiVersion, request with uid first). */
export function admissionReview(object: Manifest, options: { operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'; oldObject?: Manifest; uid?: string } = {}): RequestReview {
  const kind = object.kind as WorkloadKind;
  const { group, version, resource } = GROUP_VERSION[kind];
  const operation = options.operation ?? 'CREATE';
  const gvk = { group, version, kind };
  const gvr = { group, version, resource };
  const optionsKind = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions', CONNECT: undefined }[operation];
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: options.uid ?? `0d3c9a5e-6f1b-4c2a-9e8d-${String(++uidCounter).padStart(12, '0')}`,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      ...(object.metadata.name ? { name: object.metadata.name } : {}),
      namespace: object.metadata.namespace ?? 'shop',
      operation,
      userInfo:
        kind === 'Pod'
          ? { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'a1b2c3d4-0000-4000-8000-000000000001', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] }
          : { username: 'alice@example.com', groups: ['system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab12'] } },
      object: operation === 'DELETE' ? null : object,
      oldObject: options.oldObject ?? null,
      dryRun: false,
      ...(optionsKind ? { options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1', ...(operation === 'CREATE' ? { fieldManager: 'kubectl-client-side-apply' } : {}) } } : {}),
    },
  };
}

const OPERATIONS: readonly unknown[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
const REQUEST_FIELDS = new Set(['uid', 'kind', 'resource', 'subResource', 'requestKind', 'requestResource', 'requestSubResource', 'name', 'namespace', 'operation', 'userInfo', 'object', 'oldObject', 'dryRun', 'options']);
const RESPONSE_FIELDS = new Set(['uid', 'allowed', 'result', 'patch', 'patchType', 'auditAnnotations', 'warnings']);

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isGvk = (v: unknown): v is GroupVersionKind => isObject(v) && ['group', 'version', 'kind'].every((k) => typeof v[k] === 'string') && Object.keys(v).length === 3;
const isGvr = (v: unknown): boolean => isObject(v) && ['group', 'version', 'resource'].every((k) => typeof v[k] === 'string') && Object.keys(v).length === 3;

/** The problems of a request review against admission/v1 AdmissionReview + AdmissionRequest; [] when none. */
export function requestShapeProblems(review: unknown): string[] {
  if (!isObject(review)) return ['not an object'];
  const p: string[] = [];
  if (review.apiVersion !== 'admission.k8s.io/v1') p.push('apiVersion');
  if (review.kind !== 'AdmissionReview') p.push('kind');
  const r = review.request;
  if (!isObject(r)) return [...p, 'request'];
  for (const key of Object.keys(r)) if (!REQUEST_FIELDS.has(key)) p.push(`request.${key} is not a field`);
  if (typeof r.uid !== 'string' || r.uid === '') p.push('request.uid');
  if (!isGvk(r.kind)) p.push('request.kind');
  if (!isGvr(r.resource)) p.push('request.resource');
  if (r.requestKind !== undefined && !isGvk(r.requestKind)) p.push('request.requestKind');
  if (r.requestResource !== undefined && !isGvr(r.requestResource)) p.push('request.requestResource');
  if (!OPERATIONS.includes(r.operation)) p.push('request.operation');
  const userInfo = r.userInfo;
  if (!isObject(userInfo) || (userInfo.username !== undefined && typeof userInfo.username !== 'string')) p.push('request.userInfo');
  if (isObject(userInfo) && userInfo.groups !== undefined && !(Array.isArray(userInfo.groups) && userInfo.groups.every((g: unknown) => typeof g === 'string'))) p.push('request.userInfo.groups');
  for (const key of ['name', 'namespace', 'subResource']) if (r[key] !== undefined && typeof r[key] !== 'string') p.push(`request.${key}`);
  if (r.dryRun !== undefined && typeof r.dryRun !== 'boolean') p.push('request.dryRun');
  for (const key of ['object', 'oldObject', 'options']) if (r[key] !== undefined && r[key] !== null && !isObject(r[key])) p.push(`request.${key}`);
  const { object, kind } = r;
  if (isObject(object) && isGvk(kind)) {
    if (object.kind !== kind.kind) p.push('request.object.kind differs from request.kind.kind');
    const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
    if (object.apiVersion !== apiVersion) p.push('request.object.apiVersion differs from request.kind');
  }
  return p;
}

/** The problems of an answer against admission/v1 AdmissionReview + AdmissionResponse, for request uid `uid`. */
export function responseShapeProblems(review: unknown, uid: string): string[] {
  if (!isObject(review)) return ['not an object'];
  const p: string[] = [];
  if (review.apiVersion !== 'admission.k8s.io/v1') p.push('apiVersion');
  if (review.kind !== 'AdmissionReview') p.push('kind');
  if (review.request !== undefined) p.push('an answer carries no request');
  const r = review.response;
  if (!isObject(r)) return [...p, 'response'];
  for (const key of Object.keys(r)) if (!RESPONSE_FIELDS.has(key)) p.push(`response.${key} is not a field`);
  if (r.uid !== uid) p.push('response.uid is not the request uid');
  if (typeof r.allowed !== 'boolean') p.push('response.allowed');
  if ((r.patch === undefined) !== (r.patchType === undefined)) p.push('patch and patchType go together');
  if (r.patchType !== undefined && r.patchType !== 'JSONPatch') p.push('response.patchType');
  const patch = r.patch;
  if (patch !== undefined) {
    if (typeof patch !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(patch)) p.push('response.patch is not base64');
    else if (!Array.isArray(JSON.parse(Buffer.from(patch, 'base64').toString('utf8')))) p.push('response.patch is not a JSON array');
  }
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (r.warnings !== undefined && !(Array.isArray(r.warnings) && r.warnings.every((w: unknown) => typeof w === 'string' && !/[\x00-\x1f]/.test(w)))) p.push('response.warnings');
  return p;
}

/** Validates objects against the Kubernetes (and cert-manager) schemas, in one child process. */
/** The patch of an answer, decoded. */
export function patchOf(answer: unknown): unknown[] | undefined {
  const patch = isObject(answer) && isObject(answer.response) ? answer.response.patch : undefined;
  return typeof patch === 'string' ? (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as unknown[]) : undefined;
}

export { validateObjects, type Validation };
