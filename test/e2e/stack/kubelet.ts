/**
 * Kubelet termination emulator: stops a two-container "pod" (the Spring app + the eureka-drainer sidecar) in
 * the order the kubelet does, on real processes, with real signals and a real preStop HTTP call.
 *
 * The rules, each with the Kubernetes source it comes from (read in kubernetes/kubernetes, master in 2025;
 * the logic has been stable since the CRI kuberuntime rewrite, the sidecar ordering since 1.28):
 *
 * R1  Containers are stopped in parallel, and the grace clock starts for all of them at once.
 *     `pkg/kubelet/kuberuntime/kuberuntime_container.go` killContainersWithSyncResult starts one goroutine per
 *     running container, each calling killContainer with the same grace period (`setTerminationGracePeriod`:
 *     the pod's deletionGracePeriodSeconds, normally = spec.terminationGracePeriodSeconds). Docs:
 *     "Pod Lifecycle → Termination of Pods": the grace period starts before preStop and includes it.
 *
 * R2  A container with a preStop hook gets the hook first, bounded by the grace period.
 *     killContainer: `if containerSpec.Lifecycle.PreStop != nil && gracePeriod > 0 { gracePeriod -=
 *     executePreStopHook(...) }`. executePreStopHook runs the handler in a goroutine and selects on
 *     `time.After(gracePeriod seconds)` vs the handler finishing. The handler is NOT cancelled when the grace
 *     period runs out; the kubelet just stops waiting for it (here too: the request stays open until the
 *     emulation ends). Docs, container-lifecycle-hooks: "the hook must complete its execution before the TERM
 *     signal can be sent", and a hung hook keeps the pod Terminating until the grace period expires.
 *
 * R3  An httpGet hook is a plain HTTP GET: `http://<host>:<port>/<path>`, host defaulting to the pod IP, with
 *     the configured `httpHeaders` (plus `User-Agent: kube-lifecycle/<version>` and `Accept: *\/*`), body read
 *     and discarded. `pkg/kubelet/lifecycle/handlers.go` runHTTPHandler → `httpprobe.NewRequestForHTTPGetAction`,
 *     `discardHTTPRespBody`. The answer only decides whether a FailedPreStopHook event is recorded; stopping
 *     the container goes on either way. (The emulator keeps the body, the drainer's JSON report, for the test.)
 *
 * R4  What is left of the grace period is counted in whole seconds, truncated:
 *     `executePreStopHook` returns `int64(metav1.Now().Sub(start).Seconds())`, subtracted from gracePeriod.
 *     So a hook that took 4.9 s costs 4 s, and the container may live up to ~1 s past the nominal deadline.
 *
 * R5  Native sidecars (KEP-753, `initContainers[]` with `restartPolicy: Always`) are stopped only after every
 *     main container exited: `pkg/kubelet/kuberuntime/kuberuntime_termination_order.go` newTerminationOrdering
 *     makes each restartable init container wait on a channel per main container (and on later sidecars, in
 *     reverse order); killContainer calls `ordering.waitForTurn(name, gracePeriod)` AFTER its own preStop hook
 *     and BEFORE stopping it, bounded by the remaining grace, and subtracts the truncated seconds waited.
 *     So a native sidecar's own preStop (if any) still runs at the start, in parallel with the app's.
 *     A classic sidecar is just another container in `spec.containers`: no ordering, no wait (R1).
 *
 * R6  Every container gets at least 2 s between SIGTERM and SIGKILL, even if its hook used up the grace period:
 *     killContainer `if gracePeriod < minimumGracePeriodInSeconds { gracePeriod = minimumGracePeriodInSeconds }`
 *     with `minimumGracePeriodInSeconds = 2` (kuberuntime_manager.go). That is the one-off 2 s extension.
 *
 * R7  Stopping is the CRI `StopContainer(id, timeout=gracePeriod)`: the runtime sends the stop signal (SIGTERM
 *     unless the image says otherwise) and SIGKILL once `timeout` seconds passed (containerd / CRI-O).
 *
 * What is not emulated: probes (ignored while terminating), endpoint removal (callers here find the app through
 * Eureka, not Kubernetes Endpoints), kubelet restarts (hooks are "at least once"), STOPSIGNAL, exec hooks'
 * process semantics (an `exec` hook is modelled as an async function the kubelet waits for, see ExecHook).
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import type { DrainerProcess } from '../support/drainer-process';
import type { SpringApp } from '../support/spring-app';

/** `lifecycle.preStop.httpGet` of a container. */
export interface HttpGetHook {
  readonly kind: 'httpGet';
  readonly path: string;
  readonly port: number;
  /** Default: the pod IP (`podIp` below). */
  readonly host?: string;
  /** `httpHeaders`, e.g. the drainer token. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * `lifecycle.preStop.exec`, modelled as an async function (e.g. the `curl -X PUT …; sleep N` recipe).
 * The kubelet waits for it exactly like for an httpGet hook (R2).
 */
export interface ExecHook {
  readonly kind: 'exec';
  readonly description: string;
  readonly run: () => Promise<unknown>;
}

export type PreStopHook = HttpGetHook | ExecHook;

export type SidecarKind = 'classic' | 'native';

export interface PodSpec {
  /** The app container (the Spring Boot JVM). */
  readonly app: SpringApp;
  /** The drainer sidecar, if the pod has one. */
  readonly drainer?: DrainerProcess;
  /** `classic`: in spec.containers (SIGTERM at once); `native`: restartable init container (SIGTERM after the app exited). */
  readonly sidecar?: SidecarKind;
  /** The app container's preStop; with the drainer: httpGet to the drainer's /prestop. */
  readonly appPreStop?: PreStopHook;
  /** The drainer container's own preStop (optional): GET /prestop, which joins the same drain. */
  readonly drainerPreStop?: PreStopHook;
  /** spec.terminationGracePeriodSeconds (whole seconds, like the API field). */
  readonly terminationGracePeriodSeconds: number;
  /** Where httpGet hooks go when they name no host. Default 127.0.0.1 (the test "pod IP"). */
  readonly podIp?: string;
}

export interface HookRecord {
  readonly description: string;
  readonly startedAt: number;
  /** When the hook finished (also set if it finished after the kubelet stopped waiting). */
  returnedAt?: number;
  /** The kubelet stopped waiting at the grace deadline (R2). */
  timedOut: boolean;
  /** httpGet: the status and body (the kubelet discards them; kept here for the test). */
  status?: number;
  body?: string;
  error?: string;
}

export interface ContainerRecord {
  readonly name: 'app' | 'drainer';
  hook?: HookRecord;
  /** Native sidecar: how long it waited for the main containers (R5). */
  waitedForTurnMs?: number;
  /** The timeout passed to StopContainer, in seconds (after R4–R6). */
  stopGraceSeconds?: number;
  /** R6 applied: the hook (or the wait) used up the grace period, the container got the 2 s minimum. */
  minimumGraceApplied: boolean;
  sigtermAt?: number;
  sigkillAt?: number;
  exitedAt?: number;
  exitCode?: number | null;
  /** Exited on its own before the kubelet signalled it. */
  exitedBeforeSigterm: boolean;
  killed: boolean;
}

export interface TerminationRecord {
  readonly sidecar: SidecarKind | 'none';
  readonly terminationGracePeriodSeconds: number;
  /** The grace clock starts (R1). */
  readonly startedAt: number;
  /** startedAt + grace: the nominal SIGKILL time. */
  readonly graceDeadlineAt: number;
  readonly app: ContainerRecord;
  readonly drainer?: ContainerRecord;
  finishedAt: number;
  // Flat copies of the timestamps the tests use most (epoch ms; undefined when the step did not happen).
  hookStartedAt?: number;
  hookReturnedAt?: number;
  appSigtermAt?: number;
  appExitedAt?: number;
  drainerSigtermAt?: number;
  drainerExitedAt?: number;
  /** Names of the containers that got SIGKILL. */
  killed: string[];
}

/** The one thing the emulator needs of a container's main process. */
interface Proc {
  signal(sig: NodeJS.Signals): void;
  readonly exit: Promise<number | null>;
  readonly hasExited: () => boolean;
}

const MINIMUM_GRACE_PERIOD_SECONDS = 2; // R6

function appProc(app: SpringApp): Proc {
  return { signal: (sig) => app.signal(sig), exit: app.waitForExit(), hasExited: () => app.exited };
}

function drainerProc(drainer: DrainerProcess): Proc {
  let exited = drainer.child.exitCode !== null || drainer.child.signalCode !== null;
  void drainer.exited.then(() => {
    exited = true;
  });
  return {
    signal: (sig) => {
      if (!exited) drainer.kill(sig);
    },
    exit: drainer.exited,
    hasExited: () => exited,
  };
}

type Timeout = 'timeout';
function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | Timeout> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<Timeout>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

/** R3: the GET the kubelet sends for an httpGet hook. */
function runHttpGet(hook: HttpGetHook, podIp: string, record: HookRecord, open: Set<ClientRequest>): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = httpRequest(
      {
        host: hook.host ?? podIp,
        port: hook.port,
        path: hook.path.startsWith('/') ? hook.path : `/${hook.path}`,
        method: 'GET',
        agent: false,
        headers: { 'User-Agent': 'kube-lifecycle/1.33', Accept: '*/*', ...(hook.headers ?? {}) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 1_000_000) body += chunk;
        });
        res.on('end', () => {
          record.status = res.statusCode ?? 0;
          record.body = body;
          resolve();
        });
        res.on('error', (error) => {
          record.error = error.message;
          resolve();
        });
      },
    );
    open.add(req);
    req.on('close', () => open.delete(req));
    req.on('error', (error) => {
      record.error = error.message;
      resolve();
    });
    req.end();
  }).then(() => {
    record.returnedAt = Date.now();
  });
}

function runHook(hook: PreStopHook, podIp: string, open: Set<ClientRequest>): { record: HookRecord; done: Promise<void> } {
  const description = hook.kind === 'httpGet' ? `httpGet http://${hook.host ?? podIp}:${hook.port}${hook.path}` : `exec ${hook.description}`;
  const record: HookRecord = { description, startedAt: Date.now(), timedOut: false };
  const done =
    hook.kind === 'httpGet'
      ? runHttpGet(hook, podIp, record, open)
      : hook.run().then(
          () => {
            record.returnedAt = Date.now();
          },
          (error: unknown) => {
            record.error = error instanceof Error ? error.message : String(error);
            record.returnedAt = Date.now();
          },
        );
  return { record, done };
}

/**
 * killContainer for one container: preStop (R2–R4), the sidecar's turn (R5), the 2 s floor (R6), then
 * StopContainer (R7). `waitFor` lists the exits a native sidecar waits on.
 */
async function killContainer(
  record: ContainerRecord,
  proc: Proc,
  hook: PreStopHook | undefined,
  graceSeconds: number,
  waitFor: readonly Promise<unknown>[],
  podIp: string,
  open: Set<ClientRequest>,
): Promise<void> {
  let grace = graceSeconds;
  void proc.exit.then((code) => {
    record.exitedAt ??= Date.now();
    record.exitCode = code;
  });

  if (hook && grace > 0) {
    const { record: hookRecord, done } = runHook(hook, podIp, open);
    record.hook = hookRecord;
    const outcome = await raceTimeout(done, grace * 1000);
    if (outcome === 'timeout') hookRecord.timedOut = true;
    grace -= Math.trunc((Date.now() - hookRecord.startedAt) / 1000); // R4
  }

  if (waitFor.length > 0 && grace > 0) {
    const started = Date.now();
    await raceTimeout(Promise.all(waitFor), grace * 1000); // R5
    record.waitedForTurnMs = Date.now() - started;
    grace -= Math.trunc(record.waitedForTurnMs / 1000);
  }

  if (grace < MINIMUM_GRACE_PERIOD_SECONDS) {
    grace = MINIMUM_GRACE_PERIOD_SECONDS; // R6
    record.minimumGraceApplied = true;
  }
  record.stopGraceSeconds = grace;

  // R7: StopContainer(timeout = grace).
  if (proc.hasExited()) {
    record.exitedBeforeSigterm = true;
  } else {
    record.sigtermAt = Date.now();
    proc.signal('SIGTERM');
    const outcome = await raceTimeout(proc.exit, grace * 1000);
    if (outcome === 'timeout' && !proc.hasExited()) {
      record.sigkillAt = Date.now();
      record.killed = true;
      proc.signal('SIGKILL');
    }
  }
  await proc.exit;
  record.exitedAt ??= Date.now();
}

function newContainer(name: 'app' | 'drainer'): ContainerRecord {
  return { name, minimumGraceApplied: false, exitedBeforeSigterm: false, killed: false };
}

/**
 * Terminates the pod and resolves once every container has exited, with the timestamp of every step.
 * Never rejects because of what the containers do (a failing hook, a non-zero exit): the test asserts on
 * the record.
 */
export async function terminatePod(spec: PodSpec): Promise<TerminationRecord> {
  const grace = spec.terminationGracePeriodSeconds;
  if (!Number.isInteger(grace) || grace < 1) throw new Error('terminationGracePeriodSeconds must be a whole number ≥ 1');
  if (spec.drainerPreStop && !spec.drainer) throw new Error('drainerPreStop given without a drainer');
  const podIp = spec.podIp ?? '127.0.0.1';
  const sidecar: SidecarKind | 'none' = spec.drainer ? (spec.sidecar ?? 'classic') : 'none';
  const open = new Set<ClientRequest>();
  const startedAt = Date.now();
  const record: TerminationRecord = {
    sidecar,
    terminationGracePeriodSeconds: grace,
    startedAt,
    graceDeadlineAt: startedAt + grace * 1000,
    app: newContainer('app'),
    ...(spec.drainer ? { drainer: newContainer('drainer') } : {}),
    finishedAt: 0,
    killed: [],
  };

  const app = appProc(spec.app);
  const kills: Promise<void>[] = [killContainer(record.app, app, spec.appPreStop, grace, [], podIp, open)]; // R1
  if (spec.drainer && record.drainer) {
    const waitFor = sidecar === 'native' ? [app.exit] : []; // R5
    kills.push(killContainer(record.drainer, drainerProc(spec.drainer), spec.drainerPreStop, grace, waitFor, podIp, open));
  }
  try {
    await Promise.all(kills);
  } finally {
    // The pod sandbox is gone: any hook request still open dies with it.
    for (const req of open) req.destroy();
  }

  record.finishedAt = Date.now();
  if (record.app.hook) {
    record.hookStartedAt = record.app.hook.startedAt;
    if (record.app.hook.returnedAt !== undefined) record.hookReturnedAt = record.app.hook.returnedAt;
  }
  if (record.app.sigtermAt !== undefined) record.appSigtermAt = record.app.sigtermAt;
  if (record.app.exitedAt !== undefined) record.appExitedAt = record.app.exitedAt;
  if (record.drainer?.sigtermAt !== undefined) record.drainerSigtermAt = record.drainer.sigtermAt;
  if (record.drainer?.exitedAt !== undefined) record.drainerExitedAt = record.drainer.exitedAt;
  record.killed = [record.app, record.drainer].filter((c): c is ContainerRecord => c?.killed === true).map((c) => c.name);
  return record;
}

/** The record as offsets from the start of termination, for logs: `{"hookReturned": 4530, ...}`. */
export function timeline(record: TerminationRecord): Record<string, number | string | boolean> {
  const rel = (at: number | undefined): number | undefined => (at === undefined ? undefined : at - record.startedAt);
  const out: Record<string, number | string | boolean> = { sidecar: record.sidecar, grace: record.terminationGracePeriodSeconds };
  const put = (key: string, value: number | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  put('hookReturned', rel(record.hookReturnedAt));
  put('appSigterm', rel(record.appSigtermAt));
  put('appExited', rel(record.appExitedAt));
  put('drainerHookReturned', rel(record.drainer?.hook?.returnedAt));
  put('drainerSigterm', rel(record.drainerSigtermAt));
  put('drainerExited', rel(record.drainerExitedAt));
  put('appSigkill', rel(record.app.sigkillAt));
  put('drainerSigkill', rel(record.drainer?.sigkillAt));
  if (record.app.exitCode !== undefined) out.appExitCode = String(record.app.exitCode);
  if (record.drainer?.exitCode !== undefined) out.drainerExitCode = String(record.drainer.exitCode);
  if (record.app.hook?.timedOut) out.hookTimedOut = true;
  if (record.killed.length > 0) out.killed = record.killed.join(',');
  return out;
}
