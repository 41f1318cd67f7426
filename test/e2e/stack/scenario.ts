/**
 * Shared steps of the real-stack scenarios: roll one demo instance out of the stack through the kubelet
 * emulator, with its pod as the shipped manifest in k8s/ describes it (manifest.ts: every container's preStop,
 * the grace period, the sidecar kind), and summarise what happened.
 */
import { terminatePod, timeline, type PreStopHook, type SidecarKind, type TerminationRecord } from './kubelet';
import { failureSummary, LoadGenerator, type LoadResult } from './load';
import { hookFrom } from './manifest';
import { DRAINER_TOKEN, SCALED_GRACE_SECONDS, Stack, type DemoInstance, type StackOptions } from './stack';
import { assertJavaToolchain } from '../support/spring-app';

/** The fields of the drainer's /prestop JSON report the scenarios read. */
export interface PrestopReport {
  readonly outcome: string;
  readonly instanceId: string | null;
  readonly durationMs: number;
  readonly servers: readonly { server: string; put: string; verified: boolean; liveVerifiedMs: number | null; cacheVerifiedMs: number | null; error: string | null }[];
  readonly plan: { readonly selectMs: number; readonly drainMs: number; readonly drainBudgetMs: number; readonly fits: boolean };
  readonly actual: { readonly clientWindowMs: number | null; readonly clientWindowWaitedMs: number | null; readonly tailMs: number | null; readonly tailEndedBy: string | null; readonly drainMs: number };
  readonly problems: readonly string[];
}

export interface RollOut {
  readonly record: TerminationRecord;
  /** The drainer's answer to the app container's preStop call. */
  readonly report: PrestopReport;
}

/** The app container's preStop: the manifest's (port mapped to the drainer's), or the hand-made one without a manifest. */
export function prestopHook(instance: DemoInstance, stack?: Stack): PreStopHook {
  if (!instance.drainer) throw new Error(`${instance.instanceId} has no drainer`);
  if (instance.pod && stack) {
    if (!instance.pod.app.preStop) throw new Error(`${instance.pod.source}: the app container has no preStop httpGet`);
    return hookFrom(instance.pod.app.preStop, stack.portsOf(instance));
  }
  return { kind: 'httpGet', path: '/prestop', port: instance.drainer.port, headers: { 'X-Drainer-Token': DRAINER_TOKEN } };
}

/**
 * Terminates the pod of `instance` like the kubelet would, and returns the record and the drainer's report.
 * With a pod from k8s/ (`stack` given and the instance started from a manifest), everything comes from the
 * manifest: the app's preStop, the drainer's own preStop (run concurrently, its SIGTERM after it returns), the
 * sidecar kind, the grace period, the pod and node addresses; `options.sidecar`, if given, must agree.
 * The emulator never throws on a hook's answer (R3); this scenario step does when the app's hook got no JSON
 * report, since every caller of it expects a drain.
 */
export async function rollOut(
  instance: DemoInstance,
  options: { sidecar?: SidecarKind; drainerOwnPreStop?: boolean; graceSeconds?: number; stack?: Stack } = {},
): Promise<RollOut> {
  const pod = options.stack ? instance.pod : undefined;
  if (pod && options.sidecar && options.sidecar !== pod.sidecar) throw new Error(`${pod.source} is a ${pod.sidecar} sidecar, not ${options.sidecar}`);
  const hook = prestopHook(instance, options.stack);
  const drainerPreStop = pod
    ? pod.drainer.preStop && hookFrom(pod.drainer.preStop, options.stack!.portsOf(instance))
    : options.drainerOwnPreStop
      ? hook
      : undefined;
  const record = await terminatePod({
    app: instance.app,
    drainer: instance.drainer!,
    sidecar: pod?.sidecar ?? options.sidecar ?? 'classic',
    appPreStop: hook,
    ...(drainerPreStop ? { drainerPreStop } : {}),
    terminationGracePeriodSeconds: pod?.terminationGracePeriodSeconds ?? options.graceSeconds ?? SCALED_GRACE_SECONDS,
    podIp: instance.podIp,
    ...(pod ? { nodeIp: instance.nodeIp } : {}),
  });
  const hookRecord = record.app.hook;
  if (!hookRecord || hookRecord.status !== 200 || !hookRecord.body) {
    throw new Error(`preStop call got no drain report: ${JSON.stringify(hookRecord)}; timeline ${JSON.stringify(timeline(record))}`);
  }
  return { record, report: JSON.parse(hookRecord.body) as PrestopReport };
}

/**
 * The kubelet order of the shipped pods, asserted the same way by every scenario: the app's SIGTERM after its
 * hook; classic (k8s/classic-sidecar.yaml): the drainer's own preStop ran concurrently with the app's, its
 * SIGTERM came only when that hook returned — at the end of the drain, not at the start — and its stop window
 * was the grace period minus the hook's whole seconds; native: the drainer's SIGTERM after the app's kill
 * completed. Returns the measured offsets for the test output.
 */
export function expectShippedOrder(roll: RollOut): Record<string, number> {
  const { record, report } = roll;
  const drainer = record.drainer!;
  expect(record.appSigtermAt).toBeGreaterThanOrEqual(record.hookReturnedAt!);
  const drainEndAt = record.hookReturnedAt!;
  if (record.sidecar === 'classic' && drainer.hook) {
    expect(drainer.hook.status).toBe(200);
    // Both hooks started together (R1/R2): the kubelet calls them concurrently.
    expect(Math.abs(drainer.hook.startedAt - record.app.hook!.startedAt)).toBeLessThan(100);
    // The drainer's own hook answered with the drain, not before it.
    expect(drainer.hook.returnedAt!).toBeGreaterThanOrEqual(record.app.hook!.startedAt + report.durationMs - 200);
    expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(drainer.hook.returnedAt!);
    const hookSeconds = Math.trunc((drainer.hook.returnedAt! - drainer.hook.startedAt) / 1000);
    expect(drainer.stopGraceSeconds).toBe(Math.max(2, record.terminationGracePeriodSeconds - hookSeconds));
  } else if (record.sidecar === 'classic') {
    expect(record.drainerSigtermAt! - record.startedAt).toBeLessThan(100);
  } else {
    expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(record.app.completedAt!);
  }
  return {
    appHookMs: drainEndAt - record.startedAt,
    ...(drainer.hook?.returnedAt !== undefined ? { drainerHookMs: drainer.hook.returnedAt - record.startedAt } : {}),
    drainerSigtermMs: record.drainerSigtermAt! - record.startedAt,
    appExitedMs: record.appExitedAt! - record.startedAt,
    drainerExitedMs: record.drainerExitedAt! - record.startedAt,
  };
}

/**
 * A roll-out under load that went as it should: no request failed, the drain was verified on every server
 * and fit its plan, nothing was SIGKILLed, the app exited gracefully and the drainer with 0.
 */
export function expectCleanVerifiedRollOut(result: LoadResult, roll: RollOut, instance: DemoInstance): void {
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  expect(result.unattributed).toBe(0);
  const { record, report } = roll;
  expect(report.outcome).toBe('verified');
  expect(report.instanceId).toBe(instance.instanceId);
  expect(report.servers.every((x) => x.verified)).toBe(true);
  expect(report.plan.fits).toBe(true);
  expect(record.killed).toEqual([]);
  expect(record.app.exitCode).toBe(143); // graceful JVM exit after SIGTERM
  expect(record.drainer!.exitCode).toBe(0); // drain and clean-up finished
}

/** One line for the test output: the measured numbers of a roll-out. */
export function describeRollOut(label: string, instance: DemoInstance, roll: RollOut, load: LoadGenerator): string {
  const stats = load.stats(instance.instanceId);
  const lastServed = stats && roll.record.appSigtermAt !== undefined ? roll.record.appSigtermAt - stats.lastServedAt : undefined;
  return (
    `${label}: ${instance.instanceId} drain ${roll.report.durationMs} ms (plan ${roll.report.plan.drainMs} ms, outcome ${roll.report.outcome}, ` +
    `servers verified at ${roll.report.servers.map((s) => s.cacheVerifiedMs ?? 'never').join(' / ')} ms, tail ended by ${roll.report.actual.tailEndedBy}); ` +
    `last request served ${lastServed ?? '?'} ms before the app's SIGTERM; timeline ${JSON.stringify(timeline(roll.record))}\n`
  );
}

/** The stack one test file runs on, and the loads it drives through the gateway. */
export interface FileStack {
  /** The started stack (throws before beforeAll ran). */
  stack(): Stack;
  /** A constant-rate load through the gateway, bounded to `seconds`; stopped at the end of the file at the latest. */
  startLoad(ratePerSecond: number, seconds: number): LoadGenerator;
  /** Stops every load still running. */
  stopLoads(): Promise<void>;
}

/**
 * Starts the stack once for a test file (beforeAll) and stops it, with any
 * load still running, in afterAll, even when a test failed.
 */
export function stackForFile(options: StackOptions = { demos: 2, manifest: 'k8s/classic-sidecar.yaml' }): FileStack {
  let stack: Stack | undefined;
  const loads = new Set<LoadGenerator>();
  const stopLoads = async (): Promise<void> => {
    for (const load of loads) await load.stop();
    loads.clear();
  };
  beforeAll(async () => {
    assertJavaToolchain();
    stack = await Stack.start(options);
  });
  afterAll(async () => {
    await stopLoads();
    await stack?.stop();
  });
  const started = (): Stack => {
    if (!stack) throw new Error('the stack has not started (beforeAll failed?)');
    return stack;
  };
  return {
    stack: started,
    startLoad(ratePerSecond, seconds) {
      const load = new LoadGenerator({ url: started().helloUrl, ratePerSecond, maxRequests: ratePerSecond * seconds, maxDurationMs: seconds * 1000 }).start();
      loads.add(load);
      return load;
    },
    stopLoads,
  };
}
