/**
 * Kubelet termination emulator: stops a "pod" (the Spring app, the eureka-drainer sidecar, optionally more
 * sidecars such as a mesh-proxy stand-in) in the order the kubelet does, on real processes, with real signals
 * and real preStop HTTP calls sent from the "node" address to the "pod" address.
 *
 * Each rule names the kubelet function it follows (kubernetes/kubernetes, read for 1.33–1.35; the logic has
 * been stable since the CRI kuberuntime rewrite; the sidecar termination ordering exists since 1.29, when
 * KEP-753 sidecars went beta and `kuberuntime_termination_order.go` was added):
 *
 * R1  Containers are stopped in parallel, and the grace clock starts for all of them at once.
 *     `pkg/kubelet/kuberuntime/kuberuntime_container.go` killContainersWithSyncResult starts one goroutine per
 *     running container, each calling killContainer with the same grace period. The value comes from
 *     `pkg/kubelet/pod_workers.go` calculateEffectiveGracePeriod (the pod's deletionGracePeriodSeconds, normally
 *     = spec.terminationGracePeriodSeconds; it can only shrink) and killContainer's setTerminationGracePeriod.
 *     Docs, "Pod Lifecycle → Termination of Pods": the grace period starts before preStop and includes it.
 *
 * R2  A container with a preStop hook gets the hook first, bounded by the grace period.
 *     killContainer: `if containerSpec.Lifecycle.PreStop != nil && gracePeriod > 0 { gracePeriod -=
 *     executePreStopHook(...) }`. executePreStopHook runs the handler in a goroutine and selects on
 *     `time.After(gracePeriod seconds)` vs the handler finishing. The handler is NOT cancelled when the grace
 *     period runs out; the kubelet just stops waiting for it (here too: the request stays open until the
 *     emulation ends). Each container runs only its OWN hook: the app's hook and a classic sidecar's hook run
 *     concurrently, and each container's SIGTERM waits only for its own hook.
 *
 * R3  An httpGet hook is a plain HTTP GET: `http://<host>:<port>/<path>`, host defaulting to the pod IP, with
 *     the configured `httpHeaders` (plus `User-Agent: kube-lifecycle/<version>` and `Accept: *\/*`), body read
 *     and discarded, sent from the node's network namespace (so the peer address the pod sees is the node's,
 *     here `nodeIp`, bound with `localAddress`). `pkg/kubelet/lifecycle/handlers.go` runHTTPHandler →
 *     `httpprobe.NewRequestForHTTPGetAction`, `hr.httpDoer.Do(req)`, `discardHTTPRespBody(resp)`, `return err`.
 *     The HTTP status is never looked at: runHTTPHandler returns only transport errors (refused, reset,
 *     timeout), so a 401, 403, 404 or 500 is a hook that succeeded as far as the kubelet cares. Only a returned
 *     error makes executePreStopHook record a FailedPreStopHook event; a non-2xx answer records none. Either
 *     way stopping the container goes on at once. (The emulator keeps status and body for the test; it never
 *     throws on a non-200.)
 *
 * R4  What is left of the grace period is counted in whole seconds, truncated:
 *     executePreStopHook returns `int64(metav1.Now().Sub(start).Seconds())`, subtracted from gracePeriod.
 *     So a hook that took 4.9 s costs 4 s, and the container may live up to ~1 s past the nominal deadline.
 *
 * R5  Native sidecars (KEP-753, `initContainers[]` with `restartPolicy: Always`, Kubernetes ≥ 1.29) stop last.
 *     `pkg/kubelet/kuberuntime/kuberuntime_termination_order.go` newTerminationOrdering gives every restartable
 *     init container a prerequisite channel per main container and, walking the init containers in reverse
 *     declaration order, the channel of the next-declared sidecar: sidecars stop in reverse order of
 *     declaration, each after every main container and every later sidecar. killContainer calls
 *     `ordering.waitForTurn(name, gracePeriod)` AFTER the sidecar's own preStop and BEFORE StopContainer,
 *     bounded by the remaining grace, and subtracts the truncated seconds waited. A channel is closed by
 *     `ordering.containerTerminated(name)`, which killContainer calls only after StopContainer returned: a
 *     sidecar's turn starts when the main container's whole kill has COMPLETED (its hook returned and the
 *     container stopped), not when its process happened to exit (an app that exits by itself while its hook
 *     still runs does not release the sidecars). A native sidecar's own preStop (if any) runs at the start.
 *     A classic sidecar is just another container in `spec.containers`: no ordering, no wait (R1).
 *
 * R6  Every container gets at least 2 s between SIGTERM and SIGKILL, even if its hook used up the grace period:
 *     killContainer `if gracePeriod < minimumGracePeriodInSeconds { gracePeriod = minimumGracePeriodInSeconds }`
 *     with `minimumGracePeriodInSeconds = 2` (kuberuntime_manager.go). That is the one-off 2 s extension.
 *
 * R7  Stopping is the CRI `StopContainer(id, timeout=gracePeriod)` called by killContainer: the runtime sends the
 *     stop signal (SIGTERM unless the image says otherwise) and SIGKILL once `timeout` seconds passed
 *     (containerd / CRI-O).
 *
 * R8  A single container restart (a failed liveness probe) is killContainer for that container alone, from
 *     `pkg/kubelet/kuberuntime/kuberuntime_manager.go` SyncPod (computePodActions marks it to kill and restart):
 *     its own preStop, then StopContainer with the pod's terminationGracePeriodSeconds, then a new container.
 *     The other containers are not touched. See `restartContainer` below.
 *
 * R9  The effective grace period can be shorter than spec.terminationGracePeriodSeconds. `kubectl delete
 *     --grace-period=N` and the eviction API's DeleteOptions set it on the delete: `pkg/registry/core/pod/
 *     strategy.go` CheckGracefulDelete takes `options.GracePeriodSeconds` over the spec's value, and
 *     `staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go` BeforeDelete writes `deletionTimestamp = now +
 *     grace` and `deletionGracePeriodSeconds = grace` into the pod. Node-pressure eviction does not delete through
 *     the API at all: `pkg/kubelet/eviction/eviction_manager.go` synchronize → evictPod calls killPodFunc with a
 *     grace override of `immediateEvictionGracePeriodSeconds = 1` for a hard threshold (soft:
 *     `--eviction-max-pod-grace-period`), which reaches the pod worker as `KillPodOptions
 *     .PodTerminationGracePeriodSecondsOverride`; no deletionTimestamp is written. Either way
 *     `pkg/kubelet/pod_workers.go` calculateEffectiveGracePeriod takes the smallest of the pod's
 *     deletionGracePeriodSeconds and the override, at least 1 s, and that value goes to every killContainer
 *     (R1). `PodSpec.effectiveGrace`; the emulator tells `onDelete` what the API would write (nothing for a
 *     node-pressure eviction).
 *
 * R10 The grace period can shrink while the pod terminates: a second delete with a smaller value (BeforeDelete,
 *     "we may only shorten the deletion grace period": `deletionTimestamp = deletionTimestamp − old grace + new
 *     grace`, never before now — then the grace becomes 1 s), or an eviction override. `pod_workers.go` UpdatePod
 *     sees `wasGracePeriodShortened` (calculateEffectiveGracePeriod only ever lowers the value) and calls the
 *     running sync's cancelFn; the pod worker then runs SyncTerminatingPod → killPod AGAIN with the smaller
 *     value once the first one has returned. The cancellation does not reach a running preStop: executePreStopHook
 *     selects on `time.After(gracePeriod)` or the handler finishing, not on the context, and runHTTPHandler's
 *     request (`httpprobe.NewRequestForHTTPGetAction`, `httpDoer.Do`) carries no context; waitForTurn has only
 *     its timer too. What it does cancel is StopContainer (its CRI call takes the context): a first kill whose
 *     hook is still running ends, when the hook returns or the OLD grace runs out, without stopping the
 *     container (no SIGTERM); a first kill already in StopContainer returns at once (the kubelet stops waiting,
 *     no SIGKILL from it). killContainersWithSyncResult waits for every first kill (`wg.Wait`), then the second
 *     killPod runs killContainer for every container still running: preStop again (a second `/prestop`),
 *     then StopContainer with the NEW grace less that hook's whole seconds (2 s minimum, R6). So a shrink while
 *     the drain's hooks block does not cut the drain; it shortens what comes after it. `PodSpec.shrink`; the
 *     second kill is recorded as `ContainerRecord.again`, `stopCancelled` marks a first kill the shrink cut.
 *
 * What is not emulated: probes (they keep running while the pod terminates — readiness goes on being probed
 * and reported, a liveness failure no longer restarts anything — but nothing here reads them during
 * termination; the stack reads the manifests' drainer readiness probe before it rolls a pod), endpoint removal
 * (callers here find the app through Eureka, not Kubernetes Endpoints), kubelet restarts (hooks are "at least
 * once": a test that needs a second delivery sends it itself), STOPSIGNAL, exec hooks' process semantics (an
 * `exec` hook is modelled as an async function the kubelet waits for, see ExecHook).
 */
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { isIPv6 } from 'node:net';
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

/** The one thing the emulator needs of a container's main process. */
export interface ContainerProcess {
  signal(sig: NodeJS.Signals): void;
  readonly exit: Promise<number | null>;
  hasExited(): boolean;
}

/** Another sidecar next to the drainer (e.g. a mesh-proxy stand-in), of the same kind as the drainer. */
export interface OtherSidecar {
  readonly name: string;
  readonly process: ContainerProcess;
  readonly preStop?: PreStopHook;
  /** Its place in `initContainers` (native) relative to the drainer; native sidecars stop in reverse order (R5). */
  readonly declared: 'before-drainer' | 'after-drainer';
}

export interface PodSpec {
  /** The app container (the Spring Boot JVM), or any process. */
  readonly app: SpringApp | ContainerProcess;
  /** The drainer sidecar, if the pod has one. */
  readonly drainer?: DrainerProcess;
  /** `classic`: in spec.containers (SIGTERM at once); `native`: restartable init container (SIGTERM after the app's kill completed). */
  readonly sidecar?: SidecarKind;
  /** The app container's preStop; with the drainer: httpGet to the drainer's /prestop. */
  readonly appPreStop?: PreStopHook;
  /** The drainer container's own preStop (k8s/classic-sidecar.yaml has one). */
  readonly drainerPreStop?: PreStopHook;
  /** More sidecars of the drainer's kind (`sidecar`), e.g. a mesh proxy. */
  readonly otherSidecars?: readonly OtherSidecar[];
  /** spec.terminationGracePeriodSeconds (whole seconds, like the API field). */
  readonly terminationGracePeriodSeconds: number;
  /** Where httpGet hooks go when they name no host (status.podIP). Default 127.0.0.1. */
  readonly podIp?: string;
  /** The node's address the hook calls come from (bound as the client socket's local address). Default: none bound. */
  readonly nodeIp?: string;
  /**
   * R9: the grace period this termination really gets, when shorter than terminationGracePeriodSeconds:
   * `delete` (kubectl delete --grace-period, eviction API DeleteOptions: the API writes it into the pod) or
   * `node-pressure` (the eviction manager's override, 1 s for a hard threshold: the API is not told).
   */
  readonly effectiveGrace?: { readonly seconds: number; readonly via: 'delete' | 'node-pressure' };
  /** R10: `afterMs` into the termination, a second delete (or an eviction override) lowers the grace period to `seconds`. */
  readonly shrink?: { readonly afterMs: number; readonly seconds: number; readonly via?: 'delete' | 'node-pressure' };
  /** What the API server writes into the pod for each delete (R9, R10): the test double of the API serves it. */
  readonly onDelete?: (event: DeleteEvent) => void;
}

/** A graceful delete as the API server records it in the pod's metadata (BeforeDelete, R9/R10). */
export interface DeleteEvent {
  readonly kind: 'delete' | 'shrink';
  /** When the delete was made (epoch ms). */
  readonly at: number;
  /** metadata.deletionGracePeriodSeconds */
  readonly graceSeconds: number;
  /** metadata.deletionTimestamp (epoch ms, full precision; the API serialises it truncated to the second). */
  readonly deletionTimestamp: number;
}

export interface HookRecord {
  readonly description: string;
  readonly startedAt: number;
  /** When the hook finished (also set if it finished after the kubelet stopped waiting). */
  returnedAt?: number;
  /** The kubelet stopped waiting at the grace deadline (R2). */
  timedOut: boolean;
  /** httpGet: the status and body (the kubelet discards them, R3; kept here for the test). */
  status?: number;
  body?: string;
  /** A transport error (the only thing that would make the kubelet record FailedPreStopHook, R3). */
  error?: string;
}

export interface ContainerRecord {
  readonly name: string;
  hook?: HookRecord;
  /** Native sidecar: how long it waited for its turn (R5). */
  waitedForTurnMs?: number;
  /** When its turn came (R5), i.e. its prerequisites' kills had completed. */
  turnAt?: number;
  /** The timeout passed to StopContainer, in seconds (after R4–R6). */
  stopGraceSeconds?: number;
  /** R6 applied: the hook (or the wait) used up the grace period, the container got the 2 s minimum. */
  minimumGraceApplied: boolean;
  sigtermAt?: number;
  sigkillAt?: number;
  exitedAt?: number;
  exitCode?: number | null;
  /** killContainer returned: its hook returned (or timed out) and StopContainer returned (R5's containerTerminated). */
  completedAt?: number;
  /** Exited on its own before the kubelet signalled it. */
  exitedBeforeSigterm: boolean;
  killed: boolean;
  /** R10: the second killContainer after the grace period shrank (its own hook call, SIGTERM, SIGKILL). */
  again?: ContainerRecord;
  /** R10: this kill's StopContainer was cancelled by the shrink (no SIGTERM from it, or no SIGKILL). */
  stopCancelled?: boolean;
}

export interface TerminationRecord {
  readonly sidecar: SidecarKind | 'none';
  readonly terminationGracePeriodSeconds: number;
  /** R9: the grace period the kill used (= terminationGracePeriodSeconds unless shortened). */
  readonly effectiveGraceSeconds: number;
  /** R10: when the grace period shrank and to what, and when the second killPod began (every first kill returned). */
  shrunkAt?: number;
  shrunkToSeconds?: number;
  killAgainAt?: number;
  /** The grace clock starts (R1). */
  readonly startedAt: number;
  /** startedAt + effective grace: the nominal SIGKILL time (R10 moves it: shrunkAt + the new grace). */
  graceDeadlineAt: number;
  readonly app: ContainerRecord;
  readonly drainer?: ContainerRecord;
  /** The other sidecars, by name. */
  readonly others: Record<string, ContainerRecord>;
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

const MINIMUM_GRACE_PERIOD_SECONDS = 2; // R6

function isContainerProcess(value: SpringApp | ContainerProcess): value is ContainerProcess {
  return typeof (value as ContainerProcess).hasExited === 'function';
}

function appProc(app: SpringApp | ContainerProcess): ContainerProcess {
  if (isContainerProcess(app)) return app;
  return { signal: (sig) => app.signal(sig), exit: app.waitForExit(), hasExited: () => app.exited };
}

/** A plain child process as a container's main process. */
export function childProcess(child: ChildProcess): ContainerProcess {
  let exited = child.exitCode !== null || child.signalCode !== null;
  const exit = exited ? Promise.resolve(child.exitCode) : new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exit.then(() => {
    exited = true;
  });
  return {
    signal: (sig) => {
      if (!exited) child.kill(sig);
    },
    exit,
    hasExited: () => exited,
  };
}

export function drainerProc(drainer: DrainerProcess): ContainerProcess {
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

/** What a hook call needs of the pod's network: where it goes and where it comes from (R3). */
interface HookNetwork {
  readonly podIp: string;
  readonly nodeIp?: string;
  readonly open: Set<ClientRequest>;
}

/** R3: the GET the kubelet sends for an httpGet hook; the status is recorded, never judged. */
function runHttpGet(hook: HttpGetHook, net: HookNetwork, record: HookRecord): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = httpRequest(
      {
        host: hook.host ?? net.podIp,
        port: hook.port,
        path: hook.path.startsWith('/') ? hook.path : `/${hook.path}`,
        method: 'GET',
        agent: false,
        ...(net.nodeIp ? { localAddress: net.nodeIp } : {}),
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
    net.open.add(req);
    req.on('close', () => net.open.delete(req));
    req.on('error', (error) => {
      record.error = error.message;
      resolve();
    });
    req.end();
  }).then(() => {
    record.returnedAt = Date.now();
  });
}

function hookDescription(hook: PreStopHook, podIp: string): string {
  if (hook.kind === 'exec') return `exec ${hook.description}`;
  const host = hook.host ?? podIp;
  return `httpGet http://${isIPv6(host) ? `[${host}]` : host}:${hook.port}${hook.path}`;
}

function runHook(hook: PreStopHook, net: HookNetwork): { record: HookRecord; done: Promise<void> } {
  const record: HookRecord = { description: hookDescription(hook, net.podIp), startedAt: Date.now(), timedOut: false };
  const done =
    hook.kind === 'httpGet'
      ? runHttpGet(hook, net, record)
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
 * StopContainer (R7). `turn` resolves when the containers this one waits for have completed their kills.
 */
async function killContainer(
  record: ContainerRecord,
  proc: ContainerProcess,
  hook: PreStopHook | undefined,
  graceSeconds: number,
  turn: Promise<unknown> | undefined,
  net: HookNetwork,
  cancel?: { readonly promise: Promise<'cancelled'>; cancelled(): boolean },
): Promise<'stopped' | 'cancelled'> {
  let grace = graceSeconds;
  void proc.exit.then((code) => {
    record.exitedAt ??= Date.now();
    record.exitCode = code;
  });

  if (hook && grace > 0) {
    const { record: hookRecord, done } = runHook(hook, net);
    record.hook = hookRecord;
    const outcome = await raceTimeout(done, grace * 1000);
    if (outcome === 'timeout') hookRecord.timedOut = true;
    grace -= Math.trunc((Date.now() - hookRecord.startedAt) / 1000); // R4
  }

  if (turn && grace > 0) {
    const started = Date.now();
    const outcome = await raceTimeout(turn, grace * 1000); // R5 waitForTurn
    if (outcome !== 'timeout') record.turnAt = Date.now();
    record.waitedForTurnMs = Date.now() - started;
    grace -= Math.trunc(record.waitedForTurnMs / 1000);
  }

  if (grace < MINIMUM_GRACE_PERIOD_SECONDS) {
    grace = MINIMUM_GRACE_PERIOD_SECONDS; // R6
    record.minimumGraceApplied = true;
  }
  record.stopGraceSeconds = grace;

  // R10: the sync was cancelled while the hook (or the turn) ran: StopContainer fails on the cancelled context.
  if (cancel?.cancelled()) {
    record.stopCancelled = true;
    return 'cancelled';
  }
  // R7: StopContainer(timeout = grace).
  if (proc.hasExited()) {
    record.exitedBeforeSigterm = true;
  } else {
    record.sigtermAt = Date.now();
    proc.signal('SIGTERM');
    const outcome = await Promise.race([raceTimeout(proc.exit, grace * 1000), ...(cancel ? [cancel.promise] : [])]);
    if (outcome === 'cancelled' && !proc.hasExited()) {
      record.stopCancelled = true; // R10: the kubelet stops waiting; the second kill stops it again
      return 'cancelled';
    }
    if (outcome === 'timeout' && !proc.hasExited()) {
      record.sigkillAt = Date.now();
      record.killed = true;
      proc.signal('SIGKILL');
    }
  }
  await proc.exit;
  record.exitedAt ??= Date.now();
  record.completedAt = Date.now(); // R5: containerTerminated(name) after StopContainer returned
  return 'stopped';
}

function newContainer(name: string): ContainerRecord {
  return { name, minimumGraceApplied: false, exitedBeforeSigterm: false, killed: false };
}

interface Member {
  readonly record: ContainerRecord;
  readonly proc: ContainerProcess;
  readonly hook: PreStopHook | undefined;
  readonly role: 'main' | 'sidecar';
}

/**
 * Terminates the pod and resolves once every container has exited, with the timestamp of every step.
 * Never rejects because of what the containers do (a hook answering 401/403/500, a refused hook, a non-zero
 * exit): the test asserts on the record.
 */
export async function terminatePod(spec: PodSpec): Promise<TerminationRecord> {
  const grace = spec.terminationGracePeriodSeconds;
  if (!Number.isInteger(grace) || grace < 1) throw new Error('terminationGracePeriodSeconds must be a whole number ≥ 1');
  if (spec.drainerPreStop && !spec.drainer) throw new Error('drainerPreStop given without a drainer');
  if (spec.otherSidecars?.length && !spec.drainer) throw new Error('otherSidecars given without a drainer');
  const podIp = spec.podIp ?? '127.0.0.1';
  const net: HookNetwork = { podIp, ...(spec.nodeIp ? { nodeIp: spec.nodeIp } : {}), open: new Set<ClientRequest>() };
  const sidecar: SidecarKind | 'none' = spec.drainer ? (spec.sidecar ?? 'classic') : 'none';
  // R9 calculateEffectiveGracePeriod: the smaller value wins, at least 1 s.
  const effective = spec.effectiveGrace ? Math.max(1, Math.min(grace, Math.trunc(spec.effectiveGrace.seconds))) : grace;
  if (spec.shrink && !(spec.shrink.seconds < effective)) throw new Error(`shrink: a grace period can only get shorter (${spec.shrink.seconds} s is not below ${effective} s)`);
  const startedAt = Date.now();
  // R9 BeforeDelete: the API writes the deletion into the pod before the kubelet acts on it.
  if (spec.effectiveGrace?.via !== 'node-pressure') spec.onDelete?.({ kind: 'delete', at: startedAt, graceSeconds: effective, deletionTimestamp: startedAt + effective * 1000 });
  const others: Record<string, ContainerRecord> = {};
  const record: TerminationRecord = {
    sidecar,
    terminationGracePeriodSeconds: grace,
    effectiveGraceSeconds: effective,
    startedAt,
    graceDeadlineAt: startedAt + effective * 1000,
    app: newContainer('app'),
    ...(spec.drainer ? { drainer: newContainer('drainer') } : {}),
    others,
    finishedAt: 0,
    killed: [],
  };

  const app: Member = { record: record.app, proc: appProc(spec.app), hook: spec.appPreStop, role: 'main' };
  // Sidecars in declaration order (initContainers order for native ones).
  const sidecars: Member[] = [];
  const otherMember = (o: OtherSidecar): Member => {
    others[o.name] = newContainer(o.name);
    return { record: others[o.name]!, proc: o.process, hook: o.preStop, role: 'sidecar' };
  };
  for (const o of spec.otherSidecars ?? []) if (o.declared === 'before-drainer') sidecars.push(otherMember(o));
  if (spec.drainer && record.drainer) sidecars.push({ record: record.drainer, proc: drainerProc(spec.drainer), hook: spec.drainerPreStop, role: 'sidecar' });
  for (const o of spec.otherSidecars ?? []) if (o.declared === 'after-drainer') sidecars.push(otherMember(o));

  // One "kill completed" promise per container and kill round (R5: the channel closed by containerTerminated;
  // R10: each killPod builds a new ordering).
  type Completion = Map<Member, { promise: Promise<void>; resolve: () => void }>;
  const completion = (): Completion => {
    const map: Completion = new Map();
    for (const m of [app, ...sidecars]) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      map.set(m, { promise, resolve });
    }
    return map;
  };
  const turnOf = (completed: Completion, index: number): Promise<unknown> | undefined => {
    if (sidecar !== 'native') return undefined; // classic sidecars: no ordering (R1)
    const prereqs = [completed.get(app)!.promise]; // every main container…
    const later = sidecars[index + 1]; // …and the next-declared sidecar (reverse order)
    if (later) prereqs.push(completed.get(later)!.promise);
    return Promise.all(prereqs);
  };
  const killRound = (
    members: readonly Member[],
    seconds: number,
    recordOf: (m: Member) => ContainerRecord,
    cancel?: { readonly promise: Promise<'cancelled'>; cancelled(): boolean },
  ): Promise<unknown> => {
    const completed = completion();
    for (const m of [app, ...sidecars]) if (!members.includes(m)) completed.get(m)!.resolve(); // not running: nothing to wait for
    return Promise.all(
      members.map(async (m) => {
        const turn = m.role === 'sidecar' ? turnOf(completed, sidecars.indexOf(m)) : undefined;
        // R1; R5: containerTerminated only after a StopContainer that returned (not after a cancelled one).
        if ((await killContainer(recordOf(m), m.proc, m.hook, seconds, turn, net, cancel)) === 'stopped') completed.get(m)!.resolve();
      }),
    );
  };

  /** R10: the grace period shrinks mid-way: the API moves deletionTimestamp back; returns the new grace. */
  const shrinkNow = (shrink: NonNullable<PodSpec['shrink']>): number => {
    const now = Date.now();
    let seconds = Math.max(1, Math.trunc(shrink.seconds));
    if (shrink.via !== 'node-pressure') {
      // BeforeDelete: deletionTimestamp − old grace + new grace, never before now (then 1 s).
      let deletionTimestamp = startedAt + shrink.seconds * 1000;
      if (deletionTimestamp < now) {
        deletionTimestamp = now;
        seconds = 1;
      }
      spec.onDelete?.({ kind: 'shrink', at: now, graceSeconds: seconds, deletionTimestamp });
    }
    record.shrunkAt = now;
    record.shrunkToSeconds = seconds;
    record.graceDeadlineAt = Math.min(record.graceDeadlineAt, now + seconds * 1000);
    return seconds;
  };

  let cancelled = false;
  let cancelFirst!: () => void;
  const cancelPromise = new Promise<'cancelled'>((resolve) => (cancelFirst = () => resolve('cancelled')));
  const firstRound = killRound([app, ...sidecars], effective, (m) => m.record, { promise: cancelPromise, cancelled: () => cancelled });
  try {
    if (spec.shrink) {
      const outcome = await raceTimeout(firstRound, spec.shrink.afterMs - (Date.now() - startedAt));
      if (outcome === 'timeout') {
        const seconds = shrinkNow(spec.shrink);
        cancelled = true; // UpdatePod → cancelFn
        cancelFirst();
        await firstRound; // wg.Wait: every first kill returns (a running hook only when it ends or its old grace does)
        record.killAgainAt = Date.now();
        const running = [app, ...sidecars].filter((m) => !m.proc.hasExited());
        await killRound(running, seconds, (m) => (m.record.again = newContainer(m.record.name)));
      }
    }
    await firstRound;
  } finally {
    // The pod sandbox is gone: any hook request still open dies with it.
    for (const req of net.open) req.destroy();
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
  record.killed = [record.app, ...sidecars.map((m) => m.record)].filter((c) => c.killed || c.again?.killed).map((c) => c.name);
  return record;
}

/**
 * R8: the kubelet restarts ONE container (a failed liveness probe): killContainer for it alone — its own preStop,
 * StopContainer with the pod's grace period — while every other container keeps running. Starting the
 * replacement is the caller's part (the kubelet's startContainer).
 */
export async function restartContainer(options: {
  readonly name: string;
  readonly process: ContainerProcess;
  readonly preStop?: PreStopHook;
  readonly terminationGracePeriodSeconds: number;
  readonly podIp?: string;
  readonly nodeIp?: string;
}): Promise<ContainerRecord & { startedAt: number }> {
  const net: HookNetwork = { podIp: options.podIp ?? '127.0.0.1', ...(options.nodeIp ? { nodeIp: options.nodeIp } : {}), open: new Set<ClientRequest>() };
  const record = { ...newContainer(options.name), startedAt: Date.now() };
  try {
    await killContainer(record, options.process, options.preStop, options.terminationGracePeriodSeconds, undefined, net);
  } finally {
    for (const req of net.open) req.destroy();
  }
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
  if (record.app.hook?.status !== undefined) out.hookStatus = record.app.hook.status;
  put('appSigterm', rel(record.appSigtermAt));
  put('appExited', rel(record.appExitedAt));
  put('drainerHookReturned', rel(record.drainer?.hook?.returnedAt));
  if (record.drainer?.hook?.status !== undefined) out.drainerHookStatus = record.drainer.hook.status;
  put('drainerSigterm', rel(record.drainerSigtermAt));
  put('drainerExited', rel(record.drainerExitedAt));
  for (const [name, other] of Object.entries(record.others)) {
    put(`${name}Sigterm`, rel(other.sigtermAt));
    put(`${name}Exited`, rel(other.exitedAt));
  }
  put('appSigkill', rel(record.app.sigkillAt));
  put('drainerSigkill', rel(record.drainer?.sigkillAt));
  if (record.effectiveGraceSeconds !== record.terminationGracePeriodSeconds) out.effectiveGrace = record.effectiveGraceSeconds;
  put('shrunk', rel(record.shrunkAt));
  put('killAgain', rel(record.killAgainAt));
  if (record.shrunkToSeconds !== undefined) out.shrunkTo = record.shrunkToSeconds;
  put('appHookAgainReturned', rel(record.app.again?.hook?.returnedAt));
  put('appSigtermAgain', rel(record.app.again?.sigtermAt));
  put('appSigkillAgain', rel(record.app.again?.sigkillAt));
  put('drainerHookAgainReturned', rel(record.drainer?.again?.hook?.returnedAt));
  put('drainerSigtermAgain', rel(record.drainer?.again?.sigtermAt));
  put('drainerSigkillAgain', rel(record.drainer?.again?.sigkillAt));
  if (record.app.exitCode !== undefined) out.appExitCode = String(record.app.exitCode);
  if (record.drainer?.exitCode !== undefined) out.drainerExitCode = String(record.drainer.exitCode);
  if (record.app.hook?.timedOut) out.hookTimedOut = true;
  if (record.killed.length > 0) out.killed = record.killed.join(',');
  return out;
}
