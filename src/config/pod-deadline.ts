/** DRAINER_POD_DEADLINE and friends, read from the environment: no I/O here, so the configuration can use it. */
import { EnvReader, readRows, setting, type Env } from './reader';
import { boolean, duration, integer, text } from './rules';
import { VARIABLES } from './variables';

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

/** The pod-deadline watch's rows, in the same table form as variables.ts; POD_NAME and the grace period are the drainer's own rows. */
export const POD_DEADLINE_VARIABLES = {
  enabled: setting(['DRAINER_POD_DEADLINE'], boolean(false), "read the drainer's own pod and cut the drain when Kubernetes ends the grace period earlier"),
  serviceAccountDir: setting(['DRAINER_SERVICEACCOUNT_DIR'], text(DEFAULT_SERVICEACCOUNT_DIR), 'where the token, ca.crt and namespace are'),
  apiHost: setting(['KUBERNETES_SERVICE_HOST'], text(), 'the API address, set by Kubernetes'),
  apiPort: setting(['KUBERNETES_SERVICE_PORT'], integer(443, 1, 65_535), 'the API port, set by Kubernetes'),
  podName: VARIABLES.podName,
  namespace: setting(['POD_NAMESPACE'], text(), "Downward API metadata.namespace", { shownDefault: 'the `namespace` file' }),
  pollMs: setting(['DRAINER_POD_DEADLINE_POLL_MS'], duration(1_000, 'ms', { minMs: 100, maxMs: 60_000 }), 'how often the pod is read while terminating'),
  timeoutMs: setting(['DRAINER_POD_DEADLINE_TIMEOUT_MS'], duration(2_000, 'ms', { minMs: 100, maxMs: 60_000 }), "one request's timeout"),
  configuredGraceSeconds: VARIABLES.gracePeriodSeconds,
} as const;

/** The settings from the environment, with the problems found (empty when usable or off). */
export function podDeadlineSettings(env: Env): { settings: PodDeadlineSettings; problems: string[] } {
  const reader = new EnvReader(env);
  const settings: PodDeadlineSettings = readRows(reader, POD_DEADLINE_VARIABLES);
  if (settings.enabled) {
    if (!settings.apiHost) reader.problem('DRAINER_POD_DEADLINE=true but KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
    if (!settings.podName) reader.problem('DRAINER_POD_DEADLINE=true needs POD_NAME (env valueFrom fieldRef metadata.name)');
  }
  return { settings, problems: reader.problems };
}
