/**
 * A second caller: the legacy Spring Cloud Netflix stack (Hoxton, Zuul 1 +
 * Ribbon, Eureka client 1.10), next to Spring Cloud Gateway. Both route to
 * the same two demo instances while one is rolled out with the drainer as a
 * classic sidecar; the drainer plans for both load balancers
 * (DRAINER_LOAD_BALANCER=both: the larger of the LoadBalancer TTL and
 * Ribbon's server-list refresh). No request may fail through either caller.
 */
import { failureSummary, LoadGenerator, type LoadResult } from './load';
import { describeRollOut, expectShippedOrder, rollOut } from './scenario';
import { pollUntil, Stack, type DemoInstance } from './stack';
import { assertJavaToolchain, startSpringApp, type SpringApp } from '../support/spring-app';

jest.setTimeout(180_000);

const RATE = 60; // per caller: 120 requests/s in all on 2 cores next to six JVMs
let stack: Stack | undefined;
let zuul: SpringApp | undefined;
const loads: LoadGenerator[] = [];

beforeAll(async () => {
  assertJavaToolchain(['eureka-server', 'demo-service', 'gateway', 'zuul-gateway']);
  stack = await Stack.start({ demos: 2, manifest: 'k8s/classic-sidecar.yaml', drainerEnv: { DRAINER_LOAD_BALANCER: 'both', RIBBON_SERVERLISTREFRESHINTERVAL: '1000' } });
  zuul = await startSpringApp({ jar: 'zuul-gateway', name: 'zuul', args: [`--eureka.client.service-url.defaultZone=${stack.serviceUrls.join(',')}`] });
  // Routed through Zuul to both instances (Ribbon refreshes its list every second here).
  const seen = new Set<string>();
  await pollUntil(
    'zuul routes to both instances',
    async () => {
      const response = await fetch(`${zuul!.url}/demo/hello`).catch(() => undefined);
      if (response?.ok) seen.add(((await response.json()) as { instanceId: string }).instanceId);
      return stack!.instances.every((i) => seen.has(i.instanceId)) ? true : undefined;
    },
    60_000,
  );
});

afterAll(async () => {
  for (const load of loads) await load.stop();
  await zuul?.stop();
  await stack?.stop();
});

test('Zuul/Ribbon and Spring Cloud Gateway callers: a drained roll-out fails no request through either', async () => {
  const s = stack!;
  const [drained, other] = s.instances as [DemoInstance, DemoInstance];
  const viaGateway = new LoadGenerator({ url: s.helloUrl, ratePerSecond: RATE, maxRequests: RATE * 60, maxDurationMs: 60_000 }).start();
  const viaZuul = new LoadGenerator({ url: `${zuul!.url}/demo/hello`, ratePerSecond: RATE, maxRequests: RATE * 60, maxDurationMs: 60_000 }).start();
  loads.push(viaGateway, viaZuul);
  for (const load of loads) {
    await load.waitForServed(drained.instanceId, 10);
    await load.waitForServed(other.instanceId, 10);
  }

  const roll = await rollOut(drained, { sidecar: 'classic', stack: s });
  for (const load of loads) await load.waitForCompleted(RATE * 2);
  const [gateway, legacy] = (await Promise.all(loads.map((l) => l.stop()))) as [LoadResult, LoadResult];
  loads.length = 0;
  process.stdout.write(describeRollOut('zuul + gateway callers', drained, roll, viaZuul));
  process.stdout.write(`  gateway: ${gateway.sent} sent, ${gateway.failed} failed; zuul: ${legacy.sent} sent, ${legacy.failed} failed\n`);

  expect(roll.report.outcome).toBe('verified');
  expectShippedOrder(roll);
  expect(roll.report.plan.selectMs).toBe(1_250 + 1_000 + 2_000); // cache (1 s + its 250 ms tick slack) + fetch + max(LB TTL 2 s, Ribbon 1 s)
  for (const result of [gateway, legacy]) {
    expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
    // Nothing reached the drained instance after its app got SIGTERM, through either caller.
    expect(result.perInstance[drained.instanceId]!.lastServedAt).toBeLessThan(roll.record.appSigtermAt!);
  }
  expect(await s.liveOnBoth(drained.instanceId)).toEqual([null, null]);
});
