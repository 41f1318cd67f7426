/**
 * When does the grace period really end? Kubernetes can make it shorter than
 * `terminationGracePeriodSeconds` (and so than DRAINER_GRACE_PERIOD_SECONDS):
 * `kubectl delete --grace-period=N`, the eviction API's `DeleteOptions`, a
 * second delete with a smaller value while the pod terminates. The pod object
 * says so: this module reads the drainer's own pod through the Kubernetes API
 * from inside the pod and reports the earlier end (`onGraceEnd`), which the
 * drain controller turns into a shorter drain (`learnGraceEnd`).
 *
 * Where the end comes from (kubernetes/kubernetes, 1.33–1.35):
 * - `pkg/registry/core/pod/strategy.go` CheckGracefulDelete fills
 *   `options.GracePeriodSeconds` (the delete's value, else the pod's
 *   `terminationGracePeriodSeconds`; 0 for an unscheduled or finished pod).
 * - `staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go` BeforeDelete,
 *   first delete: `deletionTimestamp = now + GracePeriodSeconds`,
 *   `deletionGracePeriodSeconds = GracePeriodSeconds`. A later delete "may only
 *   shorten the deletion grace period": `deletionTimestamp = deletionTimestamp
 *   − old period + new period`, never before now (then the period becomes 1).
 * - `pkg/kubelet/pod_workers.go` calculateEffectiveGracePeriod takes
 *   `pod.DeletionGracePeriodSeconds` ("bedrock truth") and only ever lowers
 *   the value; a lower value cancels the running kill and the kubelet kills the
 *   pod again with it (preStop again), counting it from when it acts.
 * So `deletionTimestamp` is the apiserver's time for the end of the grace
 * period, and the kubelet's SIGKILL comes at or after it (it starts counting
 * when it sees the update, later than the apiserver wrote it; plus its 2 s
 * minimum). It is serialised with second precision (RFC 3339, fractions
 * dropped), so it reads up to 1 s early: earlier is the safe side. The drainer
 * compares it with its own clock, so clock skew between node and control plane
 * shifts it (NTP keeps that well under a second on a normal cluster).
 *
 * What it cannot see: node-pressure eviction. The kubelet's eviction manager
 * kills the pod with a grace override of 1 s (hard thresholds,
 * `immediateEvictionGracePeriodSeconds`) or `--eviction-max-pod-grace-period`
 * (soft) without deleting it through the API, so no deletionTimestamp is set.
 *
 * Off by default (DRAINER_POD_DEADLINE=true). Needs `get` on pods for the
 * pod's service account (k8s/pod-deadline-rbac.yaml). Never throws and never
 * ends the process: every failure is logged (once per distinct problem) and
 * the drainer goes on with DRAINER_GRACE_PERIOD_SECONDS.
 */
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Clock } from '../clock';
import type { Logger } from '../logger';

import { MAX_POD_BYTES, podDeadlineSettings, type PodDeadlineSettings } from '../config/pod-deadline';

export { DEFAULT_SERVICEACCOUNT_DIR, MAX_POD_BYTES, podDeadlineSettings, type PodDeadlineSettings } from '../config/pod-deadline';

/** What the pod object says about its deletion. */
export type PodDeletion =
  | { readonly deleting: false }
  | {
      readonly deleting: true;
      /** metadata.deletionTimestamp, epoch ms: when the grace period ends (see the file comment). */
      readonly endsAt: number;
      /** metadata.deletionGracePeriodSeconds. */
      readonly graceSeconds: number;
      readonly deletionTimestamp: string;
    };

export class PodReadError extends Error {
  override name = 'PodReadError';
  constructor(
    /** Stable: `no_token`, `config`, `unauthorized`, `forbidden`, `not_found`, `http`, `timeout`, `too_large`, `garbage`, `tls`, `network`. */
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

// RFC 3339 as the API writes metav1.Time: 2026-05-01T12:00:05Z (fractions and offsets accepted).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Reads the deletion fields of a parsed Pod; throws PodReadError('garbage') when it is not one. */
export function podDeletion(pod: unknown): PodDeletion {
  const o = pod && typeof pod === 'object' && !Array.isArray(pod) ? (pod as Record<string, unknown>) : undefined;
  if (!o || o.kind !== 'Pod') throw new PodReadError('garbage', `the API answered something that is not a Pod (kind ${JSON.stringify(o?.kind ?? typeof pod).slice(0, 40)})`);
  const meta = o.metadata && typeof o.metadata === 'object' ? (o.metadata as Record<string, unknown>) : {};
  const ts = meta.deletionTimestamp;
  if (ts === undefined || ts === null) return { deleting: false };
  if (typeof ts !== 'string' || !RFC3339.test(ts) || !Number.isFinite(Date.parse(ts))) {
    throw new PodReadError('garbage', `metadata.deletionTimestamp is not an RFC 3339 time: ${JSON.stringify(ts).slice(0, 60)}`);
  }
  const grace = meta.deletionGracePeriodSeconds;
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) {
    throw new PodReadError('garbage', `metadata.deletionGracePeriodSeconds is not a whole number of seconds: ${JSON.stringify(grace).slice(0, 40)}`);
  }
  // Without deletionGracePeriodSeconds (never for a graceful pod delete) the timestamp alone still says when.
  return { deleting: true, endsAt: Date.parse(ts), graceSeconds: typeof grace === 'number' ? grace : 0, deletionTimestamp: ts };
}

const reasonOf = (body: string): string => {
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (status.kind === 'Status' && typeof status.message === 'string') return `: ${status.message.slice(0, 300)}`;
  } catch {
    // not a Status object
  }
  return '';
};

async function readText(path: string, what: string, kind: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PodReadError(kind, `cannot read the service account ${what} ${path}: ${code ?? String(error)}${code === 'ENOENT' ? ' (automountServiceAccountToken: false, or not in a pod?)' : ''}`);
  }
}

/**
 * One GET /api/v1/namespaces/{ns}/pods/{name}: the token re-read (it rotates), the CA pinned, bounded in
 * time (`timeoutMs`, connect to last byte) and size (MAX_POD_BYTES). Throws PodReadError only.
 */
export async function readOwnPod(settings: PodDeadlineSettings, signal?: AbortSignal): Promise<PodDeletion> {
  if (!settings.apiHost || !settings.podName) throw new PodReadError('config', 'KUBERNETES_SERVICE_HOST and POD_NAME are needed to read the pod');
  const dir = settings.serviceAccountDir;
  const token = await readText(join(dir, 'token'), 'token', 'no_token');
  const ca = await readText(join(dir, 'ca.crt'), 'CA', 'no_token');
  const namespace = settings.namespace ?? (await readText(join(dir, 'namespace'), 'namespace file', 'no_token'));
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(settings.podName)}`;
  const where = `pod ${namespace}/${settings.podName}`;
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const req = httpsRequest(
      {
        host: settings.apiHost,
        port: settings.apiPort,
        path,
        method: 'GET',
        ca,
        agent: false,
        signal: abort,
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'User-Agent': 'eureka-drainer' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POD_BYTES) {
            req.destroy(new PodReadError('too_large', `the answer for ${where} is larger than ${MAX_POD_BYTES} bytes: not a Pod`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (error: Error & { code?: string }) => {
      if (error instanceof PodReadError) return reject(error);
      if (timeout.aborted) return reject(new PodReadError('timeout', `no answer for ${where} within ${settings.timeoutMs} ms`));
      if (signal?.aborted) return reject(new PodReadError('network', 'stopped'));
      const tls = /CERT|SSL|TLS|self.signed|altnames|UNABLE_TO/i.test(`${error.code ?? ''} ${error.message}`);
      if (tls) return reject(new PodReadError('tls', `TLS with the API failed (${error.code ?? error.message}): is ${join(dir, 'ca.crt')} the cluster's CA?`));
      reject(new PodReadError('network', `the API at ${settings.apiHost}:${settings.apiPort} failed: ${error.code ?? error.message}`));
    });
    req.end();
  });
  if (status === 401) throw new PodReadError('unauthorized', `the API refused the service account token (401)${reasonOf(body)}: expired or revoked?`);
  if (status === 403) throw new PodReadError('forbidden', `RBAC: the drainer's service account needs get on pods (k8s/pod-deadline-rbac.yaml); the API answered 403${reasonOf(body)}`);
  if (status === 404) throw new PodReadError('not_found', `${where} not found (404): is POD_NAME metadata.name and the namespace right?`);
  if (status !== 200) throw new PodReadError('http', `the API answered ${status} for ${where}${reasonOf(body)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PodReadError('garbage', `the API's answer for ${where} is not JSON (${body.length} bytes)`);
  }
  return podDeletion(parsed);
}

export interface PodDeadlineOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told each time the pod's grace period is found to end earlier than the last end told (and than DRAINER_GRACE_PERIOD_SECONDS). */
  readonly onGraceEnd: (at: number, source: string) => void;
  /** Aborted when the process stops: polling ends. */
  readonly signal: AbortSignal;
  /**
   * Is the drainer terminating or draining? Checked every `checkMs` (no API call); while it is true the pod
   * is read every DRAINER_POD_DEADLINE_POLL_MS. Default: only `start()` starts the polling.
   */
  readonly active?: () => boolean;
  readonly checkMs?: number;
  /** Replaces the settings read from `env` (tests). */
  readonly settings?: PodDeadlineSettings;
}

export interface PodDeadlineWatch {
  readonly enabled: boolean;
  /** Termination started (SIGTERM, /prestop): read the pod now and keep reading it while `active()` (or until stopped). */
  start(reason: string): void;
  /** Resolves when `signal` aborts and the last read is over. */
  readonly done: Promise<void>;
}

/**
 * Watches the drainer's own pod for an earlier end of the grace period. Off unless DRAINER_POD_DEADLINE=true;
 * when on, reads the pod once at startup (so a missing RBAC rule shows at once, as a warning), then while
 * terminating every DRAINER_POD_DEADLINE_POLL_MS, and calls `onGraceEnd` whenever the end moves earlier.
 */
export function watchPodDeadline(options: PodDeadlineOptions): PodDeadlineWatch {
  const { clock, signal, onGraceEnd } = options;
  const log = options.logger.child({ component: 'pod-deadline' });
  const parsed = options.settings ? { settings: options.settings, problems: [] } : podDeadlineSettings(options.env);
  const { settings } = parsed;
  if (!settings.enabled) return { enabled: false, start: () => undefined, done: Promise.resolve() };
  if (parsed.problems.length > 0) {
    log.warn({ problems: parsed.problems }, 'DRAINER_POD_DEADLINE: cannot read the pod; the drain trusts DRAINER_GRACE_PERIOD_SECONDS');
    return { enabled: false, start: () => undefined, done: Promise.resolve() };
  }

  let lastProblem: string | undefined;
  let failures = 0;
  let reported: number | undefined;
  let seenGrace: number | undefined;
  let polling = false;
  let wake: (() => void) | undefined;

  const readOnce = async (): Promise<void> => {
    let deletion: PodDeletion;
    try {
      deletion = await readOwnPod(settings, signal);
    } catch (error) {
      if (signal.aborted) return;
      failures++;
      const message = error instanceof Error ? error.message : String(error);
      const kind = error instanceof PodReadError ? error.kind : 'bug';
      if (message !== lastProblem) log.warn({ kind, err: error, failures }, 'could not read the pod’s deadline; the drain trusts DRAINER_GRACE_PERIOD_SECONDS');
      lastProblem = message;
      return;
    }
    if (lastProblem !== undefined) log.info({ failuresBefore: failures }, 'reading the pod works again');
    lastProblem = undefined;
    if (!deletion.deleting) return;
    const fields = { deletionTimestamp: deletion.deletionTimestamp, deletionGracePeriodSeconds: deletion.graceSeconds, configuredGraceSeconds: settings.configuredGraceSeconds, leftMs: deletion.endsAt - clock.now() };
    if (seenGrace !== deletion.graceSeconds) {
      seenGrace = deletion.graceSeconds;
      log.info(fields, 'the pod is being deleted');
      if (deletion.graceSeconds > settings.configuredGraceSeconds) log.warn(fields, 'the pod’s grace period is longer than DRAINER_GRACE_PERIOD_SECONDS: the drain uses the shorter one; set them equal');
    }
    // The normal delete (grace = terminationGracePeriodSeconds = DRAINER_GRACE_PERIOD_SECONDS) changes nothing:
    // its timestamp is the apiserver's, a little before the kubelet even started, and would cut a second for no reason.
    if (deletion.graceSeconds >= settings.configuredGraceSeconds) return;
    if (reported !== undefined && deletion.endsAt >= reported) return;
    reported = deletion.endsAt;
    onGraceEnd(deletion.endsAt, `pod API: deletionGracePeriodSeconds=${deletion.graceSeconds}, deletionTimestamp=${deletion.deletionTimestamp}`);
  };

  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      do {
        await readOnce();
        if (signal.aborted) return;
        await clock.sleep(settings.pollMs, signal).catch(() => undefined);
      } while (!signal.aborted && (options.active ? options.active() : true));
    } finally {
      polling = false;
    }
  };

  const done = (async (): Promise<void> => {
    log.info({ api: `${settings.apiHost}:${settings.apiPort}`, pod: settings.podName, namespace: settings.namespace ?? `(from ${join(settings.serviceAccountDir, 'namespace')})`, pollMs: settings.pollMs }, 'DRAINER_POD_DEADLINE: watching the pod for a shorter grace period');
    await readOnce();
    if (lastProblem === undefined) log.info('reading the pod works');
    while (!signal.aborted) {
      if (options.active?.()) await poll();
      await new Promise<void>((resolve) => {
        wake = resolve;
        void clock.sleep(options.checkMs ?? 200, signal).then(resolve, resolve);
      });
      wake = undefined;
    }
  })().catch((error: unknown) => log.error({ err: error }, 'pod deadline watch failed; the drain trusts DRAINER_GRACE_PERIOD_SECONDS'));

  return {
    enabled: true,
    start(reason) {
      if (signal.aborted) return;
      log.debug({ reason }, 'termination started: reading the pod');
      void poll().catch(() => undefined);
      wake?.();
    },
    done,
  };
}
