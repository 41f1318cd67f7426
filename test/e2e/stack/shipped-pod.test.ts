/**
 * The shipped classic pod (k8s/classic-sidecar.yaml) on its own "pod" address, with every hook and probe sent
 * from a different "node" address, as on a node: pod IP 127.0.0.4 (the app listens and registers there, the
 * drainer listens on its default address), node 127.0.0.5 (NODE_IP, the hooks' source).
 *
 * - issue 13 A2: the kubelet restarts the drainer container alone (its liveness probe) under load: it runs only
 *   the drainer's own preStop (/prestop/join), SIGTERMs it, starts a replacement. The instance must never leave
 *   service on any Eureka server and no request may fail; then the whole pod is terminated and fully drained.
 * - issue 13 C9: a kubelet restart during a termination delivers preStop again; a /prestop after the finished
 *   drain must answer that drain's report without a new drain (no new PUT).
 * - issue 13 B4: every hook here goes node → pod address (the shipped token is set, so any source may call; the
 *   default allow-list without a token, loopback + NODE_IP, is checked on the built drainer in kubelet.test.ts),
 *   and a pod termination with the app's hook over IPv6 (`::1`) to the drainer's default listening address.
 */
import { request } from 'node:http';
import { drainerProc, restartContainer, terminatePod, timeline } from './kubelet';
import { failureSummary } from './load';
import { hookFrom } from './manifest';
import { describeRollOut, expectShippedOrder, rollOut, stackForFile, type PrestopReport } from './scenario';
import { pollUntil, type DemoInstance, type Stack } from './stack';

jest.setTimeout(240_000);

const RATE = 100;
const POD_IP = '127.0.0.4';
const NODE_IP = '127.0.0.5';
const suite = stackForFile({ demos: 2, manifest: 'k8s/classic-sidecar.yaml', podIp: POD_IP, nodeIp: NODE_IP });

afterEach(() => suite.stopLoads());

/** Every status the instance showed on either server while `watch` ran (the live view, polled every 100 ms). */
function watchStatus(s: Stack, instanceId: string): { stop: () => Promise<{ seen: Set<string>; polls: number }> } {
  const seen = new Set<string>();
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const views = await s.liveOnBoth(instanceId).catch(() => [undefined, undefined] as const);
      for (const [i, v] of views.entries()) seen.add(`${i === 0 ? 'A' : 'B'}:${v === undefined ? 'read-failed' : v === null ? 'absent' : `${v.status}/${v.overriddenStatus}`}`);
      polls++;
      await new Promise((done) => setTimeout(done, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { seen, polls };
    },
  };
}

/** A GET from the node address to the pod (what a second preStop delivery sends). */
function getFromNode(instance: DemoInstance, port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: instance.podIp, port, path, localAddress: instance.nodeIp, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `eureka_drainer_eureka_requests_total{operation="put_status"}` summed over results. */
async function putCount(instance: DemoInstance): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${instance.drainer!.port}/metrics`)).text();
  return [...text.matchAll(/^eureka_drainer_eureka_requests_total\{[^}]*operation="put_status"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

test('A2: restarting the drainer container alone under load leaves the instance in service and fails no request; the pod termination then drains fully', async () => {
  const s = suite.stack();
  const [target, other] = s.instances as [DemoInstance, DemoInstance];
  expect(target.instanceId).toBe(`${POD_IP}:demo:${target.port}`);
  const pod = target.pod!;
  expect(pod.drainer.preStop?.path).toBe('/prestop/join');
  expect(pod.drainer.livenessProbe).toBeDefined();
  const load = suite.startLoad(RATE, 120);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);

  // The kubelet's liveness restart of the drainer container: its own preStop only, then SIGTERM (R8).
  const watch = watchStatus(s, target.instanceId);
  const old = target.drainer!;
  const restart = await restartContainer({
    name: pod.drainer.name,
    process: drainerProc(old),
    preStop: hookFrom(pod.drainer.preStop!, s.portsOf(target)),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    podIp: target.podIp,
    nodeIp: target.nodeIp,
  });
  // …and the kubelet starts the replacement container from the same spec.
  s.detachDrainer(target);
  const replacement = await s.attachDrainer(target, {}, pod.source);
  // The instance goes on serving through the gateway after the restart.
  const servedBefore = load.stats(target.instanceId)!.served;
  await pollUntil('the instance keeps serving after the drainer restart', async () => (load.stats(target.instanceId)!.served >= servedBefore + 20 ? true : undefined), 20_000);
  const { seen, polls } = await watch.stop();
  const hook = restart.hook!;
  process.stdout.write(
    `drainer restart: own hook ${hook.description} → ${hook.status} in ${hook.returnedAt! - hook.startedAt} ms ${hook.body}; ` +
      `SIGTERM +${restart.sigtermAt! - restart.startedAt} ms, exit ${restart.exitCode} +${restart.exitedAt! - restart.startedAt} ms; ` +
      `statuses seen over ${polls} polls: ${[...seen].join(', ')}\n`,
  );
  expect(hook.status).toBe(200);
  expect(JSON.parse(hook.body!)).toMatchObject({ joined: false });
  // Answered within DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS (default 5 s) + slack, then SIGTERM, then exit 0 at once.
  expect(hook.returnedAt! - hook.startedAt).toBeLessThan(6_500);
  expect(restart.sigtermAt!).toBeGreaterThanOrEqual(hook.returnedAt!);
  expect(restart.exitCode).toBe(0);
  expect(restart.exitedAt! - restart.sigtermAt!).toBeLessThan(1_500);
  expect(restart.killed).toBe(false);
  // Never out of service, on either server, at any poll.
  expect([...seen].sort()).toEqual(['A:UP/UNKNOWN', 'B:UP/UNKNOWN']);
  expect(replacement.port).toBeGreaterThan(0);

  // Now the whole pod: a full drain through the replacement drainer.
  const roll = await rollOut(target, { stack: s });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  process.stdout.write(describeRollOut('after the drainer restart, pod termination', target, roll, load));
  process.stdout.write(`  order (ms from the start): ${JSON.stringify(expectShippedOrder(roll))}; load ${result.sent} sent, ${result.failed} failed\n`);
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
  expect(roll.report.outcome).toBe('verified');
  expect(roll.record.killed).toEqual([]);
  expect(roll.record.drainer!.exitCode).toBe(0);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(roll.record.appSigtermAt!);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});

test('C9: preStop delivered again after the drain finished (kubelet restart) answers the same report, no new drain, no new PUT', async () => {
  const s = suite.stack();
  const target = s.instances.find((i) => !i.app.exited)!;
  const replacement = await s.addInstance();
  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(replacement.instanceId, 20);
  const pod = target.pod!;
  const ports = s.portsOf(target);
  const appHook = hookFrom(pod.app.preStop!, ports);
  const headers = { ...(appHook.headers ?? {}) };
  let first: { status: number; body: string } | undefined;
  let second: { status: number; body: string } | undefined;
  let putsBetween: [number, number] | undefined;
  // The app's hook as a kubelet that restarted after the first delivery answered sends it: twice.
  const record = await terminatePod({
    app: target.app,
    drainer: target.drainer!,
    sidecar: pod.sidecar,
    appPreStop: {
      kind: 'exec',
      description: `${appHook.path} delivered twice (kubelet restart)`,
      run: async () => {
        first = await getFromNode(target, appHook.port, appHook.path, headers);
        const before = await putCount(target);
        second = await getFromNode(target, appHook.port, appHook.path, headers);
        putsBetween = [before, await putCount(target)];
      },
    },
    drainerPreStop: hookFrom(pod.drainer.preStop!, ports),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    podIp: target.podIp,
    nodeIp: target.nodeIp,
  });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const a = JSON.parse(first!.body) as PrestopReport & { startedAt?: string };
  const b = JSON.parse(second!.body) as PrestopReport & { startedAt?: string };
  process.stdout.write(
    `second delivery: first ${first!.status} ${a.outcome} ${a.durationMs} ms, second ${second!.status} ${b.outcome} ${b.durationMs} ms, ` +
      `put_status count ${putsBetween!.join(' → ')}; load ${result.sent} sent, ${result.failed} failed; timeline ${JSON.stringify(timeline(record))}\n`,
  );
  expect(first!.status).toBe(200);
  expect(second!.status).toBe(200);
  expect(a.outcome).toBe('verified');
  expect(b).toEqual(a); // the same report, not a new drain
  expect(putsBetween![1]).toBe(putsBetween![0]); // no new PUT
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
  expect(record.killed).toEqual([]);
  expect(record.drainer!.exitCode).toBe(0);
});

test('B4: over IPv6 the app hook reaches the drainer on ::1 (its default listening address) and drains with no failed request', async () => {
  const s = suite.stack();
  const target = s.instances.find((i) => !i.app.exited && i.drainer && !i.drainer.child.killed)!;
  const replacement = await s.addInstance();
  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(replacement.instanceId, 20);
  const pod = target.pod!;
  const ports = s.portsOf(target);
  // An IPv6-primary node: status.podIP is the pod's IPv6 address, the kubelet calls it from the node's.
  const record = await terminatePod({
    app: target.app,
    drainer: target.drainer!,
    sidecar: pod.sidecar,
    appPreStop: hookFrom(pod.app.preStop!, ports),
    drainerPreStop: hookFrom(pod.drainer.preStop!, ports),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    podIp: '::1',
    nodeIp: '::1',
  });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  process.stdout.write(`IPv6 hook: ${record.app.hook?.description} → ${record.app.hook?.status ?? record.app.hook?.error}; load ${result.sent} sent, ${result.failed} failed; timeline ${JSON.stringify(timeline(record))}\n`);
  expect(record.app.hook?.error).toBeUndefined();
  expect(record.app.hook?.status).toBe(200);
  const report = JSON.parse(record.app.hook!.body!) as PrestopReport;
  expect(report.outcome).toBe('verified');
  expect(record.drainer!.hook?.status).toBe(200);
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
  expect(record.killed).toEqual([]);
});
