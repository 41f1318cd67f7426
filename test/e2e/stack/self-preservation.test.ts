/**
 * Issue 7 E, "self-preservation on": the classic pod of k8s/classic-sidecar.yaml drained under 100 req/s through
 * the gateway while both servers of the real pair are in self-preservation (lease expiry switched off).
 *
 * The fixture turns self-preservation off (test/e2e/spring/eureka-server/src/main/resources/application.yml);
 * this file starts its own pair with it on, and with a threshold the test's renewals stay under:
 *
 *   threshold/min = int(expected clients × 60 / expected-client-renewal-interval-seconds × renewal-percent-threshold)
 *
 * With `expected-client-renewal-interval-seconds=1` and `0.99`, every registration raises it by ~59.4, while the
 * demo clients renew every 1 s (60/min each) and the peer server every 30 s; the server counts one more expected
 * client than registered (Spring Cloud's `default-open-for-traffic-count` = 1 when the startup sync found
 * nothing), and `renews (last min)` is 0 during its first minute. So `isLeaseExpirationEnabled()` is false from
 * the start (measured: the drain runs inside the servers' first minute, renews 0) and, by the arithmetic, after
 * it (not measured). The renewal-threshold-update timer (default 15 min) never fires in the test.
 *
 * Engaged, proven two ways on both servers:
 * - the dashboard (`GET /`, Spring Cloud's EurekaController), polled every 500 ms from before the drain until
 *   the drainer exited: `Lease expiration enabled false` and the "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING
 *   INSTANCES ARE UP…" banner (shown when renews (last min) ≤ threshold with self-preservation on);
 * - by behaviour: a registration with a 1 s lease that never renews (app GHOST, POSTed before the drain) is
 *   still listed on both servers at the end, long past its lease by Eureka's own rule (the eviction timer runs
 *   every 1 s here and would drop it within ~2 s with expiry on).
 *
 * Self-preservation stops lease *expiry*, not cancels: the drained app's own cancel at shutdown and the
 * drainer's clean-up DELETE must still remove the instance from both servers.
 */
import { failureSummary, type LoadGenerator } from './load';
import { between, isOut, logsOf, metricValue, offered, transitions, watchLive, watchMetrics } from './observe';
import { describeRollOut, expectShippedOrder, rollOut, stackForFile } from './scenario';
import { pollUntil, type DemoInstance, type Stack } from './stack';
import type { SpringApp } from '../support/spring-app';
import type { DrainReport } from '../../../src/drain/report';

jest.setTimeout(240_000);

const RATE = 100;
const SELF_PRESERVATION = [
  '--eureka.server.enable-self-preservation=true',
  '--eureka.server.renewal-percent-threshold=0.99',
  '--eureka.server.expected-client-renewal-interval-seconds=1',
];
const suite = stackForFile({ demos: 2, manifest: 'k8s/classic-sidecar.yaml', eurekaArgs: SELF_PRESERVATION });

afterEach(() => suite.stopLoads());

interface DashboardSample {
  readonly at: number;
  readonly server: string;
  /** `Lease expiration enabled` (registry.isLeaseExpirationEnabled()); null when the page did not answer. */
  readonly leaseExpirationEnabled: boolean | null;
  readonly threshold: number | null;
  readonly renewsLastMin: number | null;
  /** The self-preservation banner: renews (last min) ≤ threshold with self-preservation on. */
  readonly emergency: boolean;
}

const EMERGENCY = "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING INSTANCES ARE UP WHEN THEY'RE NOT.";

function cell(html: string, label: string): string | null {
  const m = new RegExp(`<td>${label.replace(/[()]/g, '\\$&')}</td>\\s*<td>([^<]*)</td>`).exec(html);
  return m ? m[1]!.trim() : null;
}

/** The server's dashboard (`GET /`), read for its self-preservation state. */
async function dashboard(server: SpringApp): Promise<DashboardSample> {
  const at = Date.now();
  try {
    const response = await fetch(`${server.url}/`, { signal: AbortSignal.timeout(3_000) });
    const html = await response.text();
    const number = (label: string): number | null => {
      const v = cell(html, label);
      return v === null ? null : Number(v.replace(/[^0-9]/g, ''));
    };
    const lease = cell(html, 'Lease expiration enabled');
    return {
      at,
      server: server.name,
      leaseExpirationEnabled: lease === null ? null : lease === 'true',
      threshold: number('Renews threshold'),
      renewsLastMin: number('Renews (last min)'),
      emergency: html.includes(EMERGENCY),
    };
  } catch {
    return { at, server: server.name, leaseExpirationEnabled: null, threshold: null, renewsLastMin: null, emergency: false };
  }
}

function watchDashboards(s: Stack, everyMs = 500): { stop: () => Promise<DashboardSample[]> } {
  const samples: DashboardSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(...(await Promise.all([dashboard(s.eurekaA), dashboard(s.eurekaB)])));
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** A registration nobody renews: a 1 s lease that Eureka would expire within ~2 s with expiry on. */
const GHOST = { app: 'GHOST', id: '127.0.0.1:ghost:9' };
const GHOST_LEASE_SECONDS = 1;

async function registerGhost(server: SpringApp): Promise<number> {
  const instance = {
    instanceId: GHOST.id,
    hostName: '127.0.0.1',
    app: GHOST.app,
    ipAddr: '127.0.0.1',
    status: 'UP',
    port: { $: 9, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    vipAddress: 'ghost',
    secureVipAddress: 'ghost',
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: GHOST_LEASE_SECONDS, durationInSecs: GHOST_LEASE_SECONDS },
  };
  const response = await fetch(`${server.url}/eureka/apps/${GHOST.app}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ instance }),
    signal: AbortSignal.timeout(3_000),
  });
  await response.body?.cancel();
  return response.status;
}

/** The ghost's live entry on one server (its lease info as the server keeps it), or null on 404. */
async function ghostOn(server: SpringApp): Promise<{ status: string; leaseInfo: { lastRenewalTimestamp: number; evictionTimestamp: number; durationInSecs: number } } | null> {
  const response = await fetch(`${server.url}/eureka/apps/${GHOST.app}/${GHOST.id}`, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(3_000) });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  return ((await response.json()) as { instance: never }).instance;
}

const full = (r: unknown): DrainReport => r as DrainReport;

test('self-preservation on (both servers, engaged during the drain): the classic pod drains under load with no failed request, verified, exit 0; OUT_OF_SERVICE on both in the window, gone from both at the end', async () => {
  const s = suite.stack();
  const [target, other] = s.instances as [DemoInstance, DemoInstance];

  // The behavioural proof: a lease nobody renews.
  expect(await registerGhost(s.eurekaA)).toBe(204);
  const ghostRegisteredAt = Date.now();
  await pollUntil('the ghost replicated to B', async () => ((await ghostOn(s.eurekaB)) ? true : undefined), 10_000, 100);

  const before = await Promise.all([dashboard(s.eurekaA), dashboard(s.eurekaB)]);
  process.stdout.write(`dashboards before the drain: ${JSON.stringify(before)}\n`);
  for (const d of before) expect(d).toMatchObject({ leaseExpirationEnabled: false, emergency: true });

  const load: LoadGenerator = suite.startLoad(RATE, 150);
  for (const i of [target, other]) await load.waitForServed(i.instanceId, 20, 30_000);

  const dashboards = watchDashboards(s);
  const metrics = watchMetrics(target);
  const watch = watchLive(s, target.instanceId);
  const roll = await rollOut(target, { stack: s });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const samples = await watch.stop();
  const lastMetrics = await metrics.stop();
  const dash = await dashboards.stop();
  const ghosts = await Promise.all([ghostOn(s.eurekaA), ghostOn(s.eurekaB)]);
  const checkedAt = Date.now();
  const atEnd = await s.liveOnBoth(target.instanceId);

  const { report, record } = roll;
  const startedAt = Date.parse(full(report).startedAt);
  const done = logsOf(target, 'drain phase changed').find((l) => l.to === 'done');
  const cleanup = ((done?.servers ?? []) as { server: string; cleanup: string }[]).map((x) => x.cleanup);
  const inDrain = dash.filter((d) => d.at >= record.startedAt && d.at <= record.drainerExitedAt!);
  const goneOnBoth = samples.find((x) => x.at > record.appSigtermAt! && x.a === 'absent' && x.b === 'absent');
  process.stdout.write(
    describeRollOut('self-preservation on', target, roll, load) +
      `  servers ${JSON.stringify(full(report).servers.map((x) => ({ put: x.put, verified: x.verified, liveMs: x.liveVerifiedMs, cacheMs: x.cacheVerifiedMs, error: x.error })))}; problems ${JSON.stringify(report.problems)}\n` +
      `  clean-up ${JSON.stringify(cleanup)}; drains verified ${metricValue(lastMetrics, 'drains_total', { outcome: 'verified' })}; exit ${record.drainer!.exitCode}\n` +
      `  load ${result.sent} sent, ${result.failed} failed ${JSON.stringify(failureSummary(result.failures))}; live views ${JSON.stringify(transitions(samples, startedAt))}\n` +
      `  gone from both +${goneOnBoth ? goneOnBoth.at - record.appSigtermAt! : '?'} ms after the app's SIGTERM (app exited +${record.appExitedAt! - record.appSigtermAt!} ms)\n` +
      `  dashboards during the drain: ${inDrain.length} samples; lease expiration enabled ${JSON.stringify([...new Set(inDrain.map((d) => `${d.server}:${d.leaseExpirationEnabled}`))])}, ` +
      `emergency banner ${JSON.stringify([...new Set(inDrain.map((d) => `${d.server}:${d.emergency}`))])}, ` +
      `threshold/renews-last-min ${JSON.stringify([...new Set(inDrain.map((d) => `${d.server}:${d.threshold}/${d.renewsLastMin}`))])}\n` +
      `  ghost (1 s lease, never renewed) after ${checkedAt - ghostRegisteredAt} ms: ${JSON.stringify(ghosts.map((g) => g && { status: g.status, lastRenewalTimestamp: g.leaseInfo.lastRenewalTimestamp, evictionTimestamp: g.leaseInfo.evictionTimestamp }))}\n`,
  );

  // Self-preservation was engaged on both servers for the whole termination: every dashboard read from the grace
  // clock's start to the drainer's exit says lease expiry is off, with the emergency banner; at least 4 per server.
  for (const server of [s.eurekaA.name, s.eurekaB.name]) {
    const mine = inDrain.filter((d) => d.server === server);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.filter((d) => d.leaseExpirationEnabled !== false || !d.emergency)).toEqual([]);
  }
  // ...and it did what it does: the never-renewed 1 s lease is still listed on both servers, well past the point
  // where Eureka's own rule (lastUpdate + duration, checked every 1 s) counts it expired.
  for (const g of ghosts) {
    expect(g).toMatchObject({ status: 'UP', leaseInfo: { evictionTimestamp: 0 } });
    expect(checkedAt).toBeGreaterThan(g!.leaseInfo.lastRenewalTimestamp + 2 * GHOST_LEASE_SECONDS * 1000 + 3_000);
  }

  // The drain, as in the fault matrix.
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  expect(report.outcome).toBe('verified');
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);
  expect(record.killed).toEqual([]);
  expectShippedOrder(roll);
  expect(record.app.exitCode).toBe(143);
  expect(record.drainer!.exitCode).toBe(0);
  expect(metricValue(lastMetrics, 'drains_total', { outcome: 'verified' })).toBe(1);
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  // OUT_OF_SERVICE on both servers from the override until the app's SIGTERM, never offered UP.
  const window = between(samples, startedAt + Math.max(...report.servers.map((x) => x.liveVerifiedMs ?? 0)) + 100, record.appSigtermAt!);
  expect(window.length).toBeGreaterThan(10);
  expect(window.filter((x) => !isOut(x.a) || !isOut(x.b) || offered(x.a) || offered(x.b))).toEqual([]);
  // Gone from both at the end: the app's cancel and the drainer's clean-up DELETE do not depend on lease expiry.
  expect(cleanup).toEqual([expect.stringMatching(/^(deleted|absent)$/), expect.stringMatching(/^(deleted|absent)$/)]);
  expect(goneOnBoth).toBeDefined();
  expect(goneOnBoth!.at).toBeLessThanOrEqual(record.drainerExitedAt! + 200);
  expect(atEnd).toEqual([null, null]);
});
