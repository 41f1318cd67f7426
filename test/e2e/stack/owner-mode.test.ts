/**
 * Owner mode on real parts (issue 8, "Proof with real parts"): a non-JVM app with no Eureka code at all
 * (test/e2e/fixtures/plain-app.js, a Node `http` server) is registered, heartbeated, health-gated and drained
 * only by the drainer (DRAINER_MODE=owner), on the real Spring Cloud Netflix Eureka pair, with the real Spring
 * Cloud Gateway routing `lb://plain` to it and a real Spring Boot app (demo-service) reading it through its
 * DiscoveryClient. Every pod is k8s/owner-mode.yaml (owner-pods.ts: classic as shipped; native as a modified
 * copy with the drainer in initContainers), with only addresses and scaled timings substituted: heartbeat 1 s,
 * lease 5 s, health every 0.5 s (DOWN after 3 failed reads, UP after 1), the fleet's caches 1 s / 1 s / 2 s,
 * tail 1 s, grace 30 s.
 *
 * The JVMs (Eureka pair, one demo-service, gateway) start once for the file; the plain pods are Node processes.
 * Fleet through the file: p1 (classic) and p2 (native) from the start; p3 (classic) as p1's replacement before
 * the roll-outs; p4 as p3's replacement before the control.
 */
import { timeline } from './kubelet';
import { failureSummary, LoadGenerator, SENT_BEFORE_SIGTERM_MS, type LoadResult } from './load';
import {
  HEALTH_INTERVAL_SECONDS,
  LEASE_DURATION_SECONDS,
  LEASE_RENEWAL_SECONDS,
  metricValue,
  nativeOwnerManifest,
  OWNER_MANIFEST,
  PLAIN,
  rawInstance,
  type RawInstance,
  rollOutOwned,
  startOwnedPod,
  stopOwnedPods,
  waitRoutedPlain,
  getFromNode,
  type OwnedPod,
} from './owner-pods';
import { expectShippedOrder, stackForFile, type RollOut } from './scenario';
import { eurekaRest, pollUntil, type Stack } from './stack';
import { terminatePod } from './kubelet';
import type { SpringApp } from '../support/spring-app';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

jest.setTimeout(240_000);

const RATE = 100;
const HEARTBEAT_MS = LEASE_RENEWAL_SECONDS * 1000;
const suite = stackForFile({ demos: 1, drainers: false });
const NATIVE = nativeOwnerManifest();
const pods: Record<'p1' | 'p2' | 'p3' | 'p4', OwnedPod | undefined> = { p1: undefined, p2: undefined, p3: undefined, p4: undefined };
const loads = new Set<LoadGenerator>();

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const pod = (name: keyof typeof pods): OwnedPod => {
  const p = pods[name];
  if (!p) throw new Error(`${name} was not started (an earlier test failed?)`);
  return p;
};
const urls = (): string => suite.stack().serviceUrls.join(',');
const servers = (): [SpringApp, SpringApp] => [suite.stack().eurekaA, suite.stack().eurekaB];
const plainUrl = (): string => `${suite.stack().gateway.url}/plain/hello`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startLoad(rate = RATE, seconds = 120): LoadGenerator {
  const load = new LoadGenerator({ url: plainUrl(), ratePerSecond: rate, maxRequests: rate * seconds, maxDurationMs: seconds * 1000 }).start();
  loads.add(load);
  return load;
}
async function stopLoad(load: LoadGenerator): Promise<LoadResult> {
  loads.delete(load);
  return load.stop();
}
const describeLoad = (r: LoadResult): string => JSON.stringify({ sent: r.sent, ok: r.ok, failed: r.failed, causes: failureSummary(r.failures), rate: r.achievedRate });

/** What a Spring Boot caller's DiscoveryClient offers for `plain` (demo-service GET /discovery/plain). */
async function discovered(s: Stack): Promise<{ instanceId: string; host: string; port: number; secure: boolean; uri: string; metadata: Record<string, string> }[]> {
  const response = await fetch(`${s.instances[0]!.app.url}/discovery/${PLAIN}`, { signal: AbortSignal.timeout(3_000) });
  if (!response.ok) throw new Error(`/discovery answered ${response.status}`);
  return (await response.json()) as never;
}

async function statusOnBoth(id: string): Promise<[string | null, string | null]> {
  const [a, b] = await Promise.all(servers().map((server) => rawInstance(server, id)));
  return [a?.status ?? null, b?.status ?? null];
}

/** Every field a Spring Cloud caller reads, as the server stores the drainer's registration. */
function expectCompleteInstance(instance: RawInstance | null, owned: OwnedPod, status = 'UP'): void {
  const port = owned.app.port;
  expect(instance).toMatchObject({
    instanceId: owned.instanceId,
    app: PLAIN.toUpperCase(),
    hostName: owned.podIp,
    ipAddr: owned.podIp,
    status,
    overriddenStatus: 'UNKNOWN',
    port: { $: port, '@enabled': 'true' },
    securePort: { '@enabled': 'false' },
    vipAddress: PLAIN,
    secureVipAddress: PLAIN,
    homePageUrl: `http://${owned.podIp}:${port}/`,
    statusPageUrl: `http://${owned.podIp}:${port}/health`,
    healthCheckUrl: `http://${owned.podIp}:${port}/health`,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: LEASE_RENEWAL_SECONDS, durationInSecs: LEASE_DURATION_SECONDS },
    // DRAINER_INSTANCE_METADATA of k8s/owner-mode.yaml, verbatim.
    metadata: { zone: 'zone-a', runtime: 'nodejs' },
  });
}

/** Polls the live view of `id` on both servers every 100 ms until stopped; every sighting with its time. */
/** Calls `read` every 100 ms and keeps what it returns, until stopped or `read` returns undefined (the process is gone). */
function sample<T>(read: (at: number) => Promise<readonly T[] | undefined>): { stop(): Promise<T[]> } {
  const seen: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const found = await read(Date.now());
      if (found === undefined) return;
      seen.push(...found);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Every sighting of the instance on either server. */
function watchRegistrations(id: string): { stop(): Promise<{ at: number; server: string; status: string }[]> } {
  return sample(async (at) => {
    const views = await Promise.all(servers().map((server) => rawInstance(server, id).catch(() => null)));
    return views.flatMap((v, i) => (v ? [{ at, server: servers()[i]!.name, status: String(v.status) }] : []));
  });
}

/** The drainer's registered_status{status="UP"}, until the drainer is gone. */
function watchRegisteredUp(drained: OwnedPod): { stop(): Promise<{ at: number; value: number }[]> } {
  return sample(async (at) => {
    const value = await metricValue(drained.drainer, 'eureka_drainer_registered_status', { status: 'UP' }).catch(() => undefined);
    return value === undefined ? undefined : [{ at, value }];
  });
}

beforeAll(async () => {
  pods.p1 = await startOwnedPod({ eurekaUrls: urls() });
  await waitRoutedPlain(suite.stack().gateway.url, [pods.p1.instanceId]);
}, 60_000);

afterEach(async () => {
  for (const load of loads) await load.stop();
  loads.clear();
});

afterAll(async () => {
  await stopOwnedPods();
  rmSync(dirname(NATIVE), { recursive: true, force: true });
});

test('before the app answers its health URL nothing is registered and /readyz is 503; its first healthy answer registers it UP on both servers', async () => {
  const started = Date.now();
  const p2 = await startOwnedPod({ eurekaUrls: urls(), manifest: NATIVE, appHealthy: false, waitReady: false });
  pods.p2 = p2;
  expect(p2.pod.sidecar).toBe('native');
  const readyz = { path: p2.pod.drainer.readinessProbe!.path, port: p2.drainer.port };
  // Several health reads (every 0.5 s once running, faster while it starts): still nothing anywhere.
  await p2.drainer.waitForLog((l) => l.msg === 'waiting for the app to answer its health URL');
  await pollUntil('three unhealthy reads', async () => ((await metricValue(p2.drainer, 'eureka_drainer_health_checks_total', { result: 'unhealthy' })) >= 3 ? true : undefined), 10_000);
  expect((await getFromNode(p2, readyz.port, readyz.path)).status).toBe(503);
  expect(await statusOnBoth(p2.instanceId)).toEqual([null, null]);
  expect(await metricValue(p2.drainer, 'eureka_drainer_registrations_total')).toBe(0);

  const healthyAt = Date.now();
  await p2.app.setHealthy(true);
  const upAt = await pollUntil(`${p2.instanceId} UP on both`, async () => ((await statusOnBoth(p2.instanceId)).every((s) => s === 'UP') ? Date.now() : undefined), 10_000, 50);
  await pollUntil('/readyz 200', async () => ((await getFromNode(p2, readyz.port, readyz.path)).status === 200 ? true : undefined), 5_000, 50);
  out(`first registration: UP on both servers ${upAt - healthyAt} ms after the app turned healthy (${healthyAt - started} ms unhealthy before)`);
  expect(upAt - healthyAt).toBeLessThan(5_000);
  await waitRoutedPlain(suite.stack().gateway.url, [p2.instanceId]);
});

test('the instance is on both servers with every field, the gateway routes lb://plain to it, and a Spring Boot DiscoveryClient lists it', async () => {
  const s = suite.stack();
  const p1 = pod('p1');
  const p2 = pod('p2');
  for (const server of servers()) {
    for (const owned of [p1, p2]) expectCompleteInstance(await rawInstance(server, owned.instanceId), owned);
  }
  const live = (await rawInstance(s.eurekaA, p1.instanceId))!;
  out(`registered on ${s.eurekaA.name}: ${JSON.stringify(live)}`);
  // The registered health URL is the app's, on the pod address.
  expect((await fetch(live.healthCheckUrl)).status).toBe(200);

  await waitRoutedPlain(s.gateway.url, [p1.instanceId, p2.instanceId]);

  const offered = await pollUntil('the DiscoveryClient to list both', async () => {
    const list = await discovered(s);
    return [p1, p2].every((p) => list.some((i) => i.instanceId === p.instanceId)) ? list : undefined;
  }, 15_000, 200);
  const seen = offered.find((i) => i.instanceId === p1.instanceId)!;
  out(`demo-service DiscoveryClient.getInstances("${PLAIN}"): ${JSON.stringify(offered)}`);
  expect(seen).toMatchObject({ host: p1.podIp, port: p1.app.port, secure: false, uri: `http://${p1.podIp}:${p1.app.port}`, metadata: { zone: 'zone-a', runtime: 'nodejs' } });

  // The owner metrics (src/owner/metrics.ts).
  expect(await metricValue(p1.drainer, 'eureka_drainer_registered_status', { status: 'UP' })).toBe(1);
  expect(await metricValue(p1.drainer, 'eureka_drainer_registrations_total', { reason: 'initial' })).toBe(2); // one per server
  expect(await metricValue(p1.drainer, 'eureka_drainer_heartbeats_total', { result: 'success' })).toBeGreaterThan(0);
  expect(await metricValue(p1.drainer, 'eureka_drainer_seconds_since_last_heartbeat')).toBeLessThan(LEASE_RENEWAL_SECONDS + 1);
});

test('health flapping: DOWN on both servers and out of the gateway and the DiscoveryClient, then UP and back in, no request failed', async () => {
  const s = suite.stack();
  const p1 = pod('p1');
  const p2 = pod('p2');
  const load = startLoad();
  await load.waitForServed(p1.instanceId, 20);
  await load.waitForServed(p2.instanceId, 20);
  const statusChangesBefore = await metricValue(p1.drainer, 'eureka_drainer_registrations_total', { reason: 'status_change' });

  const sickAt = Date.now();
  await p1.app.setHealthy(false);
  const downAt = await pollUntil('DOWN on both', async () => ((await statusOnBoth(p1.instanceId)).every((x) => x === 'DOWN') ? Date.now() : undefined), 10_000, 50);
  // A re-registration with the new status, never a status override (eureka-facts §12).
  for (const server of servers()) expectCompleteInstance(await rawInstance(server, p1.instanceId), p1, 'DOWN');
  const goneFromDiscoveryAt = await pollUntil('the DiscoveryClient to drop it', async () => ((await discovered(s)).some((i) => i.instanceId === p1.instanceId) ? undefined : Date.now()), 10_000, 100);
  // The gateway stopped sending to it: 1 s without an answer from it while the other one answers (~50/s each in rotation).
  const notRoutedAt = await pollUntil('the gateway to stop routing to it', async () => {
    const now = Date.now();
    return now - load.stats(p1.instanceId)!.lastServedAt > 1_000 && now - load.stats(p2.instanceId)!.lastServedAt < 200 ? now : undefined;
  }, 15_000, 50);
  const servedWhileDown = load.stats(p1.instanceId)!.served;
  await sleep(2_000); // an observation window, not a readiness wait
  expect(load.stats(p1.instanceId)!.served).toBe(servedWhileDown);

  const wellAt = Date.now();
  await p1.app.setHealthy(true);
  const upAt = await pollUntil('UP on both', async () => ((await statusOnBoth(p1.instanceId)).every((x) => x === 'UP') ? Date.now() : undefined), 10_000, 50);
  await pollUntil('the DiscoveryClient to list it again', async () => ((await discovered(s)).some((i) => i.instanceId === p1.instanceId) ? true : undefined), 10_000, 100);
  await load.waitForServed(p1.instanceId, servedWhileDown + 20);
  const routedAgainAt = Date.now();
  const result = await stopLoad(load);

  out(
    `health flap: DOWN on both ${downAt - sickAt} ms after /health turned 503 (3 reads at ${HEALTH_INTERVAL_SECONDS} s), out of the DiscoveryClient at +${goneFromDiscoveryAt - sickAt} ms, ` +
      `not routed since ≤ +${notRoutedAt - sickAt} ms; UP on both ${upAt - wellAt} ms after it turned healthy, routed again at +${routedAgainAt - wellAt} ms; load ${describeLoad(result)}`,
  );
  expect(downAt - sickAt).toBeLessThan(3 * HEALTH_INTERVAL_SECONDS * 1000 + 2_000);
  expect(upAt - wellAt).toBeLessThan(HEALTH_INTERVAL_SECONDS * 1000 + 2_000);
  expect(await metricValue(p1.drainer, 'eureka_drainer_registrations_total', { reason: 'status_change' })).toBe(statusChangesBefore + 4); // DOWN and UP, on each server
  expect(await metricValue(p1.drainer, 'eureka_drainer_health_checks_total', { result: 'unhealthy' })).toBeGreaterThanOrEqual(3);
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
});

test('one Eureka server stopped: the heartbeats fail over and the instance stays UP and renewed on the other; restarted, the instance is back on it', async () => {
  const s = suite.stack();
  const p1 = pod('p1');
  let failedOver: string | undefined;
  // The drainer sticks to one server at random; stop A, and if p1 was not heartbeating there, B after A is back.
  for (const which of ['A', 'B'] as const) {
    const stopped = which === 'A' ? s.eurekaA : s.eurekaB;
    const other = which === 'A' ? s.eurekaB : s.eurekaA;
    const address = `${stopped.host}:${stopped.port}`;
    const load = startLoad();
    await load.waitForServed(p1.instanceId, 20);
    const logsFrom = p1.drainer.logs.length;
    const beatsBefore = await metricValue(p1.drainer, 'eureka_drainer_heartbeats_total', { result: 'success' });
    const renewedBefore = (await rawInstance(other, p1.instanceId))!.leaseInfo.lastRenewalTimestamp;
    await stopped.stop();
    const stoppedAt = Date.now();
    // Four heartbeat intervals with one server gone: on the other it stays UP and its lease keeps being renewed.
    const statuses: (string | null)[] = [];
    while (Date.now() - stoppedAt < 4 * HEARTBEAT_MS) {
      statuses.push((await rawInstance(other, p1.instanceId))?.status ?? null);
      await sleep(200);
    }
    const renewedAfter = (await rawInstance(other, p1.instanceId))!.leaseInfo.lastRenewalTimestamp;
    const beats = (await metricValue(p1.drainer, 'eureka_drainer_heartbeats_total', { result: 'success' })) - beatsBefore;
    const failed = p1.drainer.logs.slice(logsFrom).filter((l) => l.msg === 'heartbeat failed' && String(l.server).includes(address));
    const result = await stopLoad(load);
    out(`${stopped.name} stopped: p1's heartbeats failed there ${failed.length}×, ${beats} renewed in ${Date.now() - stoppedAt} ms, on ${other.name} ${JSON.stringify([...new Set(statuses)])} (${statuses.length} polls), lease renewed ${renewedAfter - renewedBefore} ms further; load ${describeLoad(result)}`);
    expect(new Set(statuses)).toEqual(new Set(['UP']));
    expect(renewedAfter).toBeGreaterThan(renewedBefore);
    expect(beats).toBeGreaterThanOrEqual(3);
    expect(result.failed).toBe(0);
    for (const owned of [p1, pod('p2')]) expectCompleteInstance(await rawInstance(other, owned.instanceId), owned);
    if (failed.length > 0) {
      failedOver = stopped.name;
      // It failed over at once: the heartbeat that failed went to the other server in the same beat.
      expect(failed[0]!.next).toBe(`${other.url}/eureka/`);
    }

    const restartedAt = Date.now();
    const back = await s.restartEureka(which);
    const upAt = Date.now();
    const backAt = await pollUntil(`${p1.instanceId} back on ${back.name}`, async () => ((await rawInstance(back, p1.instanceId))?.status === 'UP' ? Date.now() : undefined), 15_000, 50);
    expectCompleteInstance(await rawInstance(back, p1.instanceId), p1);
    out(`${back.name} restarted (JVM up after ${upAt - restartedAt} ms): ${p1.instanceId} UP on it ${backAt - upAt} ms later, every field as registered`);
    await pollUntil(`${pod('p2').instanceId} back on ${back.name}`, async () => ((await rawInstance(back, pod('p2').instanceId))?.status === 'UP' ? true : undefined), 15_000, 100);
    if (failedOver) break;
  }
  expect(failedOver).toBeDefined();
  // The gateway still routes to both after the restart (its own client found the restarted server again).
  await waitRoutedPlain(s.gateway.url, [p1.instanceId, pod('p2').instanceId]);
});

test('an external DELETE on both servers is healed by the drainer re-registering within one heartbeat', async () => {
  const p1 = pod('p1');
  const notFoundBefore = await metricValue(p1.drainer, 'eureka_drainer_registrations_total', { reason: 'not_found' });
  const logsFrom = p1.drainer.logs.length;
  const path = `apps/${PLAIN.toUpperCase()}/${encodeURIComponent(p1.instanceId)}`;
  const deletedAt = Date.now();
  expect(await Promise.all(servers().map((server) => eurekaRest(server, 'DELETE', path)))).toEqual([200, 200]);
  // A fresh lease on every server (eureka-facts §5: a peer alone can undo a DELETE on one server).
  let healed: Awaited<ReturnType<typeof rawInstance>>[] = [];
  const backAt = await pollUntil(
    're-registered on both',
    async () => {
      const views = await Promise.all(servers().map((server) => rawInstance(server, p1.instanceId)));
      healed = views;
      return views.every((v) => v?.status === 'UP' && v.leaseInfo.registrationTimestamp >= deletedAt) ? Date.now() : undefined;
    },
    10_000,
    50,
  );
  // The views that showed it healed, not a second read: a DELETE replicated late from the peer can still remove the
  // fresh registration for a moment (eureka-facts §5), and the next heartbeat's 404 registers it again.
  for (const view of healed) expectCompleteInstance(view, p1);
  const notFound = (await metricValue(p1.drainer, 'eureka_drainer_registrations_total', { reason: 'not_found' })) - notFoundBefore;
  const log = p1.drainer.logs.slice(logsFrom).find((l) => l.msg === 'heartbeat answered 404; registering again');
  out(`external DELETE: UP again with a fresh lease on both servers ${backAt - deletedAt} ms after it; the drainer re-registered on ${String(log?.server)} (${notFound} not_found registration(s))`);
  expect(backAt - deletedAt).toBeLessThanOrEqual(HEARTBEAT_MS + 2_000);
  // The drainer's own heartbeat healed it (not only the peer's replication).
  expect(log).toBeDefined();
  expect(notFound).toBeGreaterThanOrEqual(1);
});

/** The roll-out assertions, classic and native alike. */
async function expectCleanOwnedRollOut(drained: OwnedPod, others: readonly OwnedPod[], sidecar: 'classic' | 'native'): Promise<RollOut> {
  const load = startLoad();
  await load.waitForServed(drained.instanceId, 20);
  for (const other of others) await load.waitForServed(other.instanceId, 20);
  expect(drained.pod.sidecar).toBe(sidecar);
  const watch = watchRegistrations(drained.instanceId);
  const registeredUp = watchRegisteredUp(drained);
  const roll = await rollOutOwned(drained);
  const { record, report } = roll;
  const upSamples = await registeredUp.stop();
  // Three heartbeat intervals after the drainer exited (the drain ended before that), watching both servers.
  await sleep(Math.max(0, record.drainerExitedAt! + 3 * HEARTBEAT_MS - Date.now()));
  const sightings = await watch.stop();
  await load.waitForCompleted(RATE);
  const result = await stopLoad(load);
  const exitEvent = drained.app.events.find((e) => e.event === 'exit');
  const stats = load.stats(drained.instanceId)!;
  out(
    `${sidecar} (${drained.pod.source}): ${drained.instanceId} drain ${report.durationMs} ms (plan ${report.plan.drainMs}, outcome ${report.outcome}, ` +
      `servers verified at ${report.servers.map((x) => x.cacheVerifiedMs ?? 'never').join(' / ')} ms); last request served ${record.appSigtermAt! - stats.lastServedAt} ms before the app's SIGTERM; ` +
      `app ${JSON.stringify(exitEvent)}; last sighting on a server ${sightings.length ? sightings[sightings.length - 1]!.at - record.hookReturnedAt! : '-'} ms after the drain ended (${sightings.length} in all); ` +
      `timeline ${JSON.stringify(timeline(record))}; load ${describeLoad(result)}`,
  );
  out(`  substituted from the manifest: ${JSON.stringify(drained.pod.substituted)}`);

  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  expect(result.unattributed).toBe(0);
  expect(report).toMatchObject({ outcome: 'verified', instanceId: drained.instanceId, mode: 'owner' });
  expect(report.servers.every((x) => x.verified)).toBe(true);
  // The plan counts owner mode's 1 s replication settle before the cancel (its replication_settle term).
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);

  expect(record.killed).toEqual([]);
  const order = expectShippedOrder(roll);
  out(`  order (ms from the start): ${JSON.stringify(order)}`);
  expect(record.app.exitCode).toBe(0); // the plain app's graceful exit
  expect(record.drainer!.exitCode).toBe(0);

  // Nothing served after the app's SIGTERM: the load saw its last answer before it, and the app counted none.
  expect(stats.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(exitEvent).toMatchObject({ servedAfterSigterm: 0 });
  for (const other of others) expect(load.stats(other.instanceId)!.lastServedAt).toBeGreaterThan(record.appExitedAt!);

  // Gone from both servers, and nothing registered it again after the drain ended (no late heartbeat, no health change).
  expect(sightings.filter((x) => x.at >= record.hookReturnedAt!)).toEqual([]);
  expect(await statusOnBoth(drained.instanceId)).toEqual([null, null]);
  const stoppedAt = drained.drainer.logs.findIndex((l) => l.msg === 'heartbeats stopped');
  expect(stoppedAt).toBeGreaterThanOrEqual(0);
  expect(drained.drainer.logs.slice(stoppedAt).filter((l) => l.msg === 'registered' || l.msg === 'heartbeat answered 404; registering again')).toEqual([]);
  // The drainer's own metric follows: UP before the drain, all 0 once the drain cancelled it (read before /prestop answered).
  const beforeAnswer = upSamples.filter((x) => x.at < record.hookReturnedAt!);
  expect(beforeAnswer[0]?.value).toBe(1);
  expect(beforeAnswer.at(-1)?.value).toBe(0);
  expect(upSamples.filter((x) => x.at >= record.hookReturnedAt!).every((x) => x.value === 0)).toBe(true);
  return roll;
}

test('roll-out, classic sidecar (k8s/owner-mode.yaml as shipped): under 100 req/s no request fails, nothing is served after the app’s SIGTERM, nothing re-registers', async () => {
  pods.p3 = await startOwnedPod({ eurekaUrls: urls() });
  await waitRoutedPlain(suite.stack().gateway.url, [pods.p3.instanceId]);
  expect(pod('p1').pod.source).toBe(OWNER_MANIFEST);
  await expectCleanOwnedRollOut(pod('p1'), [pod('p2'), pod('p3')], 'classic');
});

test('roll-out, native sidecar (the same pod with the drainer as a restartable init container): no request fails, nothing re-registers', async () => {
  await expectCleanOwnedRollOut(pod('p2'), [pod('p3')], 'native');
});

test('control: the same roll-out without the drain (the drainer killed, the app simply stops) fails requests', async () => {
  const s = suite.stack();
  pods.p4 = await startOwnedPod({ eurekaUrls: urls() });
  await waitRoutedPlain(s.gateway.url, [pods.p4.instanceId]);
  const stopped = pod('p3');
  const other = pod('p4');
  const load = startLoad();
  await load.waitForServed(stopped.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);

  // No drain: the drainer is gone (SIGKILL: no cancel), the app gets SIGTERM at once.
  stopped.drainer.kill('SIGKILL');
  await stopped.drainer.exited;
  const record = await terminatePod({ app: stopped.app.process, terminationGracePeriodSeconds: 30 });
  const sigterm = record.appSigtermAt!;
  // The callers keep selecting it until its lease expires (2 × 5 s, Eureka's expiry quirk, + the 1 s eviction
  // tick) and their caches let go: measured, not assumed.
  const evictedAt = await pollUntil('the lease to expire on both servers', async () => ((await statusOnBoth(stopped.instanceId)).every((x) => x === null) ? Date.now() : undefined), 40_000, 200);
  await pollUntil('the failures to stop', async () => (Date.now() - (load.snapshotFailures().at(-1)?.at ?? 0) > 2_000 ? true : undefined), 20_000, 200);
  const result = await stopLoad(load);
  const failures = result.failures;
  out(
    `control (owner mode, no drain): ${result.failed} of ${result.sent} requests failed ${JSON.stringify(failureSummary(failures))}, from +${failures.length ? failures[0]!.at - sigterm : '-'} ` +
      `to +${failures.length ? failures[failures.length - 1]!.at - sigterm : '-'} ms after the app's SIGTERM; the registration expired on both servers at +${evictedAt - sigterm} ms; timeline ${JSON.stringify(timeline(record))}`,
  );
  expect(record.app.exitCode).toBe(0);
  expect(result.failed).toBeGreaterThan(0);
  for (const f of failures) expect(f.sentAt).toBeGreaterThanOrEqual(sigterm - SENT_BEFORE_SIGTERM_MS);
  expect(result.perInstance[other.instanceId]!.lastServedAt).toBeGreaterThan(failures[failures.length - 1]!.at);
});
