/**
 * The Kubernetes objects the tests read from rendered or parsed manifests, as typed shapes: the fields the tests
 * read, required where every such object carries them. Parsing a manifest is the one place its shape is taken on
 * trust; the schema tests (validateObjects, test/helpers/k8s-schemas.ts) hold the objects to the real schemas.
 */
export type StringMap = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: StringMap;
  annotations?: StringMap;
}

export interface LabelSelector {
  matchLabels?: StringMap;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
    [field: string]: unknown;
  };
}

export interface HttpGet {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HttpGet;
  exec?: { command: string[] };
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number; [field: string]: unknown }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: { requests?: StringMap; limits?: StringMap };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: Probe; postStart?: Probe };
  securityContext?: Record<string, unknown>;
  restartPolicy?: string;
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string };
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { labelSelector: LabelSelector; [field: string]: unknown }[];
  [field: string]: unknown;
}

export interface PodTemplate {
  metadata: ObjectMeta;
  spec: PodSpec;
}

/** Any object of a manifest: what every one has, and whatever else it holds. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface Pod extends Manifest {
  spec: PodSpec;
  status?: { phase?: string; [field: string]: unknown };
}

export interface Deployment extends Manifest {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate; [field: string]: unknown };
}

export interface Service extends Manifest {
  spec: { selector: StringMap; ports: unknown[]; [field: string]: unknown };
}

export interface Secret extends Manifest {
  type?: string;
  data: StringMap;
}

export interface ConfigMap extends Manifest {
  data: StringMap;
}

export interface ServiceAccount extends Manifest {
  automountServiceAccountToken?: boolean;
}

export interface PodDisruptionBudget extends Manifest {
  spec: { minAvailable?: number | string; selector: LabelSelector };
}

export interface Webhook {
  name: string;
  clientConfig: { service?: { name: string; namespace: string; path?: string; port?: number }; caBundle?: string };
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  timeoutSeconds?: number;
  [field: string]: unknown;
}

export interface MutatingWebhookConfiguration extends Manifest {
  webhooks: Webhook[];
}

export interface Certificate extends Manifest {
  spec: { secretName: string; dnsNames?: string[]; usages?: string[]; isCA?: boolean; issuerRef: { name: string; kind?: string }; [field: string]: unknown };
}

export interface Issuer extends Manifest {
  spec: { ca?: { secretName: string }; selfSigned?: Record<string, unknown> };
}

/** A Deployment, StatefulSet, DaemonSet, ReplicaSet or Job: a pod template in its spec. */
export interface Templated extends Manifest {
  spec: { template: PodTemplate; [field: string]: unknown };
}

export interface CronJob extends Manifest {
  spec: { jobTemplate: { spec: { template: PodTemplate; [field: string]: unknown } }; [field: string]: unknown };
}

/** The pod template of a workload of any kind (the Pod is its own): a reference into it, not a copy. */
export function podTemplateOf(object: Manifest): PodTemplate {
  if (object.kind === 'Pod') return object as Pod;
  if (object.kind === 'CronJob') return (object as CronJob).spec.jobTemplate.spec.template;
  return (object as Templated).spec.template;
}

/** Objects whose `spec` the tests only compare whole. */
export interface SpecOnly extends Manifest {
  spec: Record<string, unknown>;
}

/** The shape of each kind the tests read, by kind. */
export interface Kinds {
  Namespace: Manifest;
  Pod: Pod;
  Deployment: Deployment;
  Service: Service;
  Secret: Secret;
  ConfigMap: ConfigMap;
  ServiceAccount: ServiceAccount;
  PodDisruptionBudget: PodDisruptionBudget;
  MutatingWebhookConfiguration: MutatingWebhookConfiguration;
  Certificate: Certificate;
  Issuer: Issuer;
  PodMonitor: SpecOnly;
  PrometheusRule: SpecOnly;
}

export const isKind = <K extends keyof Kinds>(object: Manifest, kind: K): object is Kinds[K] => object.kind === kind;

/** The objects of `kind` among `objects`, in order. */
export const ofKind = <K extends keyof Kinds>(objects: readonly Manifest[], kind: K): Kinds[K][] => objects.filter((o): o is Kinds[K] => isKind(o, kind));

/** The one object of `kind` (named `name`, when given) among `objects`; none or several is an error that says so. */
export function one<K extends keyof Kinds>(objects: readonly Manifest[], kind: K, name?: string): Kinds[K] {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` named ${name}`}, found ${found.length}`);
  return found[0]!;
}

/** `Kind/name`, how the tests label an object. */
export const idOf = (o: Manifest): string => `${o.kind}/${o.metadata.name}`;

/** The containers of a pod spec, init containers first. */
export const allContainers = (spec: PodSpec): Container[] => [...(spec.initContainers ?? []), ...spec.containers];

/** The container named `name` in a pod spec; none is an error that says so. */
export function containerNamed(spec: PodSpec, name: string): Container {
  const found = allContainers(spec).find((c) => c.name === name);
  if (!found) throw new Error(`no container named ${name}`);
  return found;
}
