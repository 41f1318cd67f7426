/**
 * Shared steps of the real-stack scenarios: roll one demo instance out of the stack through the kubelet
 * emulator, with its drainer wired as in k8s/ (the app's preStop httpGet → the drainer's /prestop, token
 * header), and summarise what happened.
 */
import { terminatePod, timeline, type PreStopHook, type SidecarKind, type TerminationRecord } from './kubelet';
import { LoadGenerator } from './load';
import { DRAINER_TOKEN, SCALED_GRACE_SECONDS, Stack, type DemoInstance, type StackOptions } from './stack';
import { assertJavaToolchain } from '../support/spring-app';

/** The fields of the drainer's /prestop JSON report the scenarios read. */
export interface PrestopReport {
  readonly outcome: string;
  readonly instanceId: string | null;
  readonly durationMs: number;
  readonly servers: readonly { server: string; put: string; verified: boolean; liveVerifiedMs: number | null; cacheVerifiedMs: number | null; error: string | null }[];
  readonly plan: { readonly selectMs: number; readonly drainMs: number; readonly drainBudgetMs: number; readonly fits: boolean };
  readonly actual: { readonly clientWindowMs: number | null; readonly tailMs: number | null; readonly tailEndedBy: string | null; readonly drainMs: number };
  readonly problems: readonly string[];
}

export interface RollOut {
  readonly record: TerminationRecord;
  /** The drainer's answer to the app container's preStop call. */
  readonly report: PrestopReport;
}

export function prestopHook(instance: DemoInstance): PreStopHook {
  if (!instance.drainer) throw new Error(`${instance.instanceId} has no drainer`);
  return { kind: 'httpGet', path: '/prestop', port: instance.drainer.port, headers: { 'X-Drainer-Token': DRAINER_TOKEN } };
}

/**
 * Terminates the pod of `instance` (app + drainer sidecar) like the kubelet would, and returns the record and
 * the drainer's report. Throws if the preStop call got no JSON report.
 */
export async function rollOut(
  instance: DemoInstance,
  options: { sidecar: SidecarKind; drainerOwnPreStop?: boolean; graceSeconds?: number },
): Promise<RollOut> {
  const hook = prestopHook(instance);
  const record = await terminatePod({
    app: instance.app,
    drainer: instance.drainer!,
    sidecar: options.sidecar,
    appPreStop: hook,
    ...(options.drainerOwnPreStop ? { drainerPreStop: hook } : {}),
    terminationGracePeriodSeconds: options.graceSeconds ?? SCALED_GRACE_SECONDS,
  });
  const hookRecord = record.app.hook;
  if (!hookRecord || hookRecord.status !== 200 || !hookRecord.body) {
    throw new Error(`preStop call failed: ${JSON.stringify(hookRecord)}; timeline ${JSON.stringify(timeline(record))}`);
  }
  return { record, report: JSON.parse(hookRecord.body) as PrestopReport };
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
export function stackForFile(options: StackOptions = { demos: 2 }): FileStack {
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
