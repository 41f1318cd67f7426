/** DRAINER_POD_DEADLINE and friends, read from the environment: no I/O here, so the configuration can use it. */

export const DEFAULT_SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A Pod's JSON is a few KiB; anything near this is not a Pod. */
export const MAX_POD_BYTES = 1024 * 1024;

export interface PodDeadlineSettings {
  /** DRAINER_POD_DEADLINE (default false). */
  readonly enabled: boolean;
  /** DRAINER_SERVICEACCOUNT_DIR: where `token`, `ca.crt` and `namespace` are (default the kubelet's mount). */
  readonly serviceAccountDir: string;
  /** KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, set by the kubelet in every container. */
  readonly apiHost: string | undefined;
  readonly apiPort: number;
  /** POD_NAME (Downward API `metadata.name`). */
  readonly podName: string | undefined;
  /** POD_NAMESPACE if set (Downward API `metadata.namespace`), else the service account's `namespace` file. */
  readonly namespace: string | undefined;
  /** DRAINER_POD_DEADLINE_POLL_MS: how often to read the pod while terminating (default 1000). */
  readonly pollMs: number;
  /** DRAINER_POD_DEADLINE_TIMEOUT_MS: one request, connect to last byte (default 2000). */
  readonly timeoutMs: number;
  /** DRAINER_GRACE_PERIOD_SECONDS: an end is reported only when the pod's grace period is shorter than this. */
  readonly configuredGraceSeconds: number;
}

/** The settings from the environment, with the problems found (empty when usable or off). */
export function podDeadlineSettings(env: NodeJS.ProcessEnv): { settings: PodDeadlineSettings; problems: string[] } {
  const problems: string[] = [];
  const flag = (env.DRAINER_POD_DEADLINE ?? '').trim().toLowerCase();
  const enabled = flag === 'true' || flag === '1' || flag === 'yes';
  if (flag !== '' && !enabled && !['false', '0', 'no'].includes(flag)) problems.push(`DRAINER_POD_DEADLINE must be true or false, not ${JSON.stringify(flag.slice(0, 20))}`);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw.slice(0, 20))}`);
      return fallback;
    }
    return n;
  };
  const settings: PodDeadlineSettings = {
    enabled,
    serviceAccountDir: env.DRAINER_SERVICEACCOUNT_DIR?.trim() || DEFAULT_SERVICEACCOUNT_DIR,
    apiHost: env.KUBERNETES_SERVICE_HOST?.trim() || undefined,
    apiPort: int('KUBERNETES_SERVICE_PORT', 443, 1, 65_535),
    podName: env.POD_NAME?.trim() || undefined,
    namespace: env.POD_NAMESPACE?.trim() || undefined,
    pollMs: int('DRAINER_POD_DEADLINE_POLL_MS', 1_000, 100, 60_000),
    timeoutMs: int('DRAINER_POD_DEADLINE_TIMEOUT_MS', 2_000, 100, 60_000),
    configuredGraceSeconds: int('DRAINER_GRACE_PERIOD_SECONDS', 30, 1, 86_400),
  };
  if (enabled) {
    if (!settings.apiHost) problems.push('DRAINER_POD_DEADLINE=true but KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
    if (!settings.podName) problems.push('DRAINER_POD_DEADLINE=true needs POD_NAME (env valueFrom fieldRef metadata.name)');
  }
  return { settings, problems };
}
