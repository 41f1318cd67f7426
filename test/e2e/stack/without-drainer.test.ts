/**
 * Scenarios 3 and 4: what happens WITHOUT the drainer, on the same real stack.
 *
 * 3. Control: the pod has no drainer and no preStop, so the kubelet sends SIGTERM to the app at once. Spring
 *    Boot's graceful shutdown finishes the requests in flight, but callers keep selecting the instance until
 *    their caches let go of it (server cache + fetch + LB TTL: up to 4 s here) while the app stops accepting
 *    connections within about a second. The requests routed to it in between fail. The test asserts failures
 *    > 0: if this ever stops failing, the proof that the drainer prevents something is void.
 *
 * 4. The DELETE-and-sleep recipe: `curl -X DELETE` on both Eureka servers does not take the instance out, because
 *    the app's own Eureka client gets a 404 on its next heartbeat and registers again, UP (eureka#1110). That is
 *    why the drainer uses the OUT_OF_SERVICE override instead.
 */
import { terminatePod, timeline } from './kubelet';
import { failureSummary, LoadGenerator, SENT_BEFORE_SIGTERM_MS } from './load';
import { eurekaRest, pollUntil, Stack, type DemoInstance } from './stack';
import { assertJavaToolchain } from '../support/spring-app';

jest.setTimeout(180_000);

// 100 requests/s through the gateway, half of them to the instance being stopped. Measured with the graceful
// shutdown of the fixture (server.shutdown=graceful): with nothing in flight the app stops accepting and exits
// 0.1–1.1 s after SIGTERM, while the gateway keeps choosing it for ~3 s more (the app's own DOWN re-registration
// at shutdown still has to go through the server cache, the gateway's fetch and its LB cache), so 150-odd
// requests fail per run (HTTP 500: connection refused behind the gateway). Graceful shutdown does not make the
// control flaky: it protects requests already in flight, not the ones callers have yet to send. The failure
// mode does not depend on the rate (any rate that sends a request in that window shows it).
const RATE = 100;
/** The demo's eureka.instance.lease-renewal-interval-in-seconds (test/e2e/spring/demo-service application.yml). */
const HEARTBEAT_MS = 1_000;

let stack: Stack | undefined;
let load: LoadGenerator | undefined;

beforeAll(async () => {
  assertJavaToolchain();
  stack = await Stack.start({ demos: 2, drainers: false });
});

afterAll(async () => {
  await load?.stop();
  await stack?.stop();
});

test('control: without the drainer, stopping an instance under load fails requests', async () => {
  const [stopped, other] = stack!.instances as [DemoInstance, DemoInstance];
  load = new LoadGenerator({ url: stack!.helloUrl, ratePerSecond: RATE, maxRequests: RATE * 60, maxDurationMs: 60_000 }).start();
  await load.waitForServed(stopped.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);

  // No drainer, no preStop: the kubelet sends SIGTERM right away.
  const record = await terminatePod({ app: stopped.app, terminationGracePeriodSeconds: 30 });
  // Until every cache has let go of it (≤ 1 s + 1 s + 2 s here) and a while more.
  await load.waitForCompleted(RATE * 6);
  const result = await load.stop();
  load = undefined;

  const failures = result.failures;
  const sigterm = record.appSigtermAt!;
  process.stdout.write(
    `control (no drainer): ${result.failed} of ${result.sent} requests failed ${JSON.stringify(failureSummary(failures))}, ` +
      `from +${failures.length ? failures[0]!.at - sigterm : '-'} to +${failures.length ? failures[failures.length - 1]!.at - sigterm : '-'} ms after SIGTERM; ` +
      `last answer from the stopped instance ${(result.perInstance[stopped.instanceId]?.lastServedAt ?? sigterm) - sigterm} ms after SIGTERM; timeline ${JSON.stringify(timeline(record))}\n`,
  );
  expect(record.app.exitCode).toBe(143);
  expect(record.killed).toEqual([]);
  // The failure mode the product prevents: requests fail.
  expect(result.failed).toBeGreaterThan(0);
  // …and they are the stopped instance's: all from its SIGTERM on (less a request's gateway hop, load.ts
  // SENT_BEFORE_SIGTERM_MS), while the other instance answered fine.
  for (const f of failures) expect(f.sentAt).toBeGreaterThanOrEqual(sigterm - SENT_BEFORE_SIGTERM_MS);
  expect(result.perInstance[other.instanceId]!.lastServedAt).toBeGreaterThan(failures[failures.length - 1]!.at);
});

test('the DELETE recipe: after a DELETE on both servers the instance is UP again within a heartbeat', async () => {
  const s = stack!;
  const instance = s.instances.find((i) => !i.app.exited)!;
  const path = `apps/DEMO/${encodeURIComponent(instance.instanceId)}`;
  for (const server of [s.eurekaA, s.eurekaB]) {
    await pollUntil(`${instance.instanceId} UP on ${server.name}`, async () => ((await s.liveInstance(server, instance.instanceId))?.status === 'UP' ? true : undefined), 10_000);
  }

  // What a preStop `curl -X DELETE` on each server does: both say 200 (cancelled).
  const deletedAt = Date.now();
  const statuses = await Promise.all([eurekaRest(s.eurekaA, 'DELETE', path), eurekaRest(s.eurekaB, 'DELETE', path)]);
  expect(statuses).toEqual([200, 200]);

  // The app's next heartbeat gets 404 and registers again, UP, on both servers (directly and by replication).
  const backUp = await pollUntil(
    `${instance.instanceId} re-registered on both servers`,
    async () => {
      const views = await s.liveOnBoth(instance.instanceId);
      const fresh = views.every((v) => v?.status === 'UP' && (v.registrationTimestamp ?? 0) >= deletedAt);
      return fresh ? Date.now() : undefined;
    },
    10_000,
    50,
  );
  const tookMs = backUp - deletedAt;
  process.stdout.write(`DELETE recipe: ${instance.instanceId} UP again on both servers ${tookMs} ms after the DELETE (heartbeat interval ${HEARTBEAT_MS} ms)\n`);
  // Within one heartbeat interval, plus slack for the 404 → register round trip and the ~0.5 s replication batch.
  expect(tookMs).toBeLessThanOrEqual(HEARTBEAT_MS + 2_000);

  // And callers keep being sent to it: the gateway still routes to the instance the recipe meant to drain.
  await s.waitRouted([instance.instanceId], 15_000);
});
