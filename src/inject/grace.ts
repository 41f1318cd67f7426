/**
 * The grace period an injected pod needs, by the same computation as `eureka-drainer plan`: the drainer's
 * environment as far as the caller can see it (literal env values, the data of the ConfigMaps it can see),
 * parsed by parseConfig, planned by computePlan.
 */
import { parseConfig } from '../config';
import { ConfigError } from '../errors';
import { REPLICATION_SETTLE_MS } from '../drain/replication-settle';
import { computePlan, type Plan } from '../plan';
import { isObject, type Json } from './workload';

export type ConfigMaps = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface VisibleEnv {
  readonly env: Record<string, string>;
  /** ConfigMaps the container reads that the caller cannot see: the plan uses defaults for their values. */
  readonly unseenConfigMaps: readonly string[];
  /** Entries the kubelet fills in from the Downward API when the container starts: name → fieldPath. */
  readonly fromDownwardApi: Readonly<Record<string, string>>;
}

/** `$(NAME)` references as the kubelet expands them from earlier entries; `$$` escapes. Unresolved ones stay. */
export function expandReferences(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : match;
  });
}

/**
 * The container's environment as the kubelet would build it (envFrom in order, then env; env wins), with what
 * the caller can see: values from fieldRef, secrets and unseen ConfigMaps are left out.
 */
export function visibleEnv(envFrom: readonly Json[], env: readonly Json[], configMaps: ConfigMaps): VisibleEnv {
  const out: Record<string, string> = {};
  const unseen: string[] = [];
  const downward: Record<string, string> = {};
  for (const from of envFrom) {
    const ref = isObject(from.configMapRef) ? from.configMapRef : undefined;
    if (!ref || typeof ref.name !== 'string') continue;
    const data = configMaps[ref.name];
    if (!data) {
      if (!unseen.includes(ref.name)) unseen.push(ref.name);
      continue;
    }
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    for (const [k, v] of Object.entries(data)) out[`${prefix}${k}`] = String(v);
  }
  for (const entry of env) {
    const name = String(entry.name);
    delete downward[name];
    if (entry.value !== undefined) {
      // A YAML number or boolean reads as its text; anything else as its JSON (not "[object Object]").
      out[name] = expandReferences(typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value), out);
      continue;
    }
    const from = isObject(entry.valueFrom) ? entry.valueFrom : {};
    if (isObject(from.fieldRef) && typeof from.fieldRef.fieldPath === 'string') downward[name] = from.fieldRef.fieldPath;
    const keyRef = isObject(from.configMapKeyRef) ? from.configMapKeyRef : undefined;
    const value = keyRef && typeof keyRef.name === 'string' ? configMaps[keyRef.name]?.[String(keyRef.key)] : undefined;
    if (value !== undefined) out[name] = value;
    // fieldRef, resourceFieldRef, secretKeyRef, an unseen ConfigMap: the value is not known here.
    else delete out[name];
    if (keyRef && typeof keyRef.name === 'string' && !configMaps[keyRef.name] && !unseen.includes(keyRef.name)) unseen.push(keyRef.name);
  }
  return { env: out, unseenConfigMaps: unseen, fromDownwardApi: downward };
}

/**
 * What the kubelet gives the container when it starts, as stand-ins that pass the drainer's checks: the plan never
 * depends on them, but without them a drainer that needs them (DRAINER_POD_DEADLINE=true: the API address and
 * POD_NAME; owner mode: POD_IP) would look refused. The `kubernetes` Service's variables are set in every container.
 */
const KUBELET_SETS: Readonly<Record<string, string>> = { KUBERNETES_SERVICE_HOST: '192.0.2.1', KUBERNETES_SERVICE_PORT: '443' };
const DOWNWARD_STAND_INS: Readonly<Record<string, string>> = {
  'status.podIP': '192.0.2.2',
  'status.hostIP': '192.0.2.3',
  'metadata.name': 'pod',
  'metadata.namespace': 'namespace',
};

/** Values the plan never depends on and that would make parseConfig read a file: left out of the plan's env. */
const NOT_FOR_THE_PLAN = ['DRAINER_TOKEN', 'DRAINER_TOKEN_FILE', 'DRAINER_EUREKA_CREDENTIALS', 'DRAINER_EUREKA_CREDENTIALS_FILE'];

export type GraceResult =
  | { readonly ok: true; readonly seconds: number; readonly requiredSeconds: number; readonly plan: Plan }
  | { readonly ok: false; readonly problem: string };

/**
 * terminationGracePeriodSeconds for the pod: what the plan needs, never less than the pod already has
 * (Kubernetes' default 30 s when unset). A value the drainer would refuse at start is refused here.
 */
export function graceFor(visible: VisibleEnv, existingSeconds: number | undefined): GraceResult {
  const env: Record<string, string> = { ...KUBELET_SETS };
  for (const [name, fieldPath] of Object.entries(visible.fromDownwardApi)) {
    const standIn = DOWNWARD_STAND_INS[fieldPath];
    if (standIn !== undefined) env[name] = standIn;
  }
  for (const [k, v] of Object.entries(visible.env)) {
    // A value still holding an unresolved $(REF) (a fieldRef or Secret behind it) is not known here.
    if (NOT_FOR_THE_PLAN.includes(k) || /\$\([A-Za-z_]/.test(v)) continue;
    env[k] = v;
  }
  let config;
  try {
    config = parseConfig(env, {
      requireTarget: false,
      readFile: () => {
        throw new Error('the injector reads no files');
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problem: `the drainer would refuse its settings: ${error.problems.join('; ')}` };
    throw error;
  }
  // As the drainer plans at start (main.ts): owner mode also waits for its last heartbeat's replication.
  // The injector refuses owner mode before it gets here; `eureka-drainer check` meets owner-mode pods.
  const plan = computePlan(config.timings, { replicationSettleMs: config.mode === 'owner' ? REPLICATION_SETTLE_MS : 0 });
  const requiredSeconds = Math.ceil(plan.requiredGraceMs / 1000);
  return { ok: true, seconds: Math.max(existingSeconds ?? 30, requiredSeconds), requiredSeconds, plan };
}
