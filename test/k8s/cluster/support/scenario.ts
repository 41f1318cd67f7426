/**
 * The steps the cluster scenarios share: a file's namespace and world, a pod started and routed, and a pod deleted
 * under 100 req/s through the gateway with everything watched (the drainer's log, the pod's statuses to its
 * deletion, the kubelet's own log lines, the drainer's report).
 */
import { afterAll, beforeAll } from '@jest/globals';
import { LoadGenerator, type LoadResult } from '../../../e2e/stack/load';
import type { StackTimings } from '../../../e2e/stack/stack';
import { apply, assertInCluster, createNamespace, deleteNamespace, kubectl, LogFollower, PodTracker, waitPodReady, type Json, type PodStatus } from './kube';
import { kubeletEvents, type KubeletEvents } from './kubelet-log';
import { World } from './world';
import { podInstanceId } from './workloads';

export interface ClusterFile {
  readonly namespace: string;
  /** Set in beforeAll. */
  readonly world: World;
}

/**
 * Registers the file's beforeAll/afterAll: a fresh namespace, and the run's shared world (or, with `timings`, one of
 * the file's own, stopped after it).
 */
export function useCluster(namespace: string, timings?: StackTimings): ClusterFile {
  let world: World | undefined;
  beforeAll(async () => {
    assertInCluster();
    world = timings ? await World.start(timings) : World.attach();
    await createNamespace(namespace);
  }, 300_000);
  afterAll(async () => {
    await deleteNamespace(namespace);
    await world?.stop();
  }, 200_000);
  return {
    namespace,
    get world(): World {
      if (!world) throw new Error('the cluster world is not started yet (use it inside a test)');
      return world;
    },
  };
}

/** Applies a pod and waits until it is Ready, its instance UP on both servers and routed by the gateway. */
export async function runPod(file: ClusterFile, pod: Json): Promise<{ status: PodStatus; instanceId: string }> {
  const name = String((pod['metadata'] as Json)['name']);
  await apply([pod], file.namespace);
  const status = await waitPodReady(file.namespace, name);
  const instanceId = podInstanceId(status.podIP!);
  await file.world.waitUp(instanceId);
  await file.world.waitRouted([instanceId, file.world.outsideId]);
  return { status, instanceId };
}

export interface Termination {
  readonly load: LoadResult;
  readonly deletedAt: number;
  readonly drainer: LogFollower;
  readonly tracker: PodTracker;
  readonly events: KubeletEvents;
  /** The drainer's report (`drain finished`), when it finished one. */
  readonly report: Json | undefined;
  /** When /prestop answered (the report's answeredAt), epoch ms. */
  readonly answeredAt: number | undefined;
}

export interface DeleteOptions {
  /** `kubectl delete pod --grace-period`. */
  readonly gracePeriod?: number;
  /** Right before the delete (e.g. freeze Eureka). */
  readonly beforeDelete?: () => void;
  /** Once the pod is gone (e.g. thaw Eureka). */
  readonly afterGone?: () => void;
}

/** `kubectl delete pod` under 100 req/s, watched until the pod is gone, the load stopped and the drainer's log ended. */
export async function deleteUnderLoad(file: ClusterFile, name: string, options: DeleteOptions = {}): Promise<Termination> {
  const drainer = new LogFollower(file.namespace, name, 'eureka-drainer');
  const tracker = new PodTracker(file.namespace, name);
  const load = new LoadGenerator({ url: file.world.helloUrl, ratePerSecond: 100, maxRequests: 20_000, maxDurationMs: 120_000 }).start();
  await new Promise((r) => setTimeout(r, 1_000));
  options.beforeDelete?.();
  const deletedAt = Date.now();
  try {
    await kubectl(['delete', 'pod', name, '-n', file.namespace, ...(options.gracePeriod === undefined ? [] : [`--grace-period=${options.gracePeriod}`]), '--wait=false']);
    await tracker.gone;
  } finally {
    options.afterGone?.();
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const result = await load.stop();
  await drainer.ended;
  const report = drainer.find('drain finished')?.['report'] as Json | undefined;
  return {
    load: result,
    deletedAt,
    drainer,
    tracker,
    events: kubeletEvents(name, deletedAt),
    report,
    answeredAt: report ? Date.parse(String(report['answeredAt'])) : undefined,
  };
}

/** One line with what a termination showed, for the test's output. */
export function describeTermination(name: string, t: Termination): string {
  return `${name}: ${t.load.failed} of ${t.load.sent} failed; report ${JSON.stringify(t.report)}; kubelet ${JSON.stringify(t.events)}; app ${JSON.stringify(t.tracker.terminated('app'))}; drainer ${JSON.stringify(t.tracker.terminated('eureka-drainer'))}`;
}
