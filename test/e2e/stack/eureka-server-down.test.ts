/**
 * Scenario 5: one Eureka server of the pair is stopped just before the drain. The drainer cannot put the
 * override on it nor verify it, so it must count that server at its worst case (the full server-cache term from
 * the start of the drain) — and still answer within its worst-case plan, with no failed request: the callers
 * fail over to the surviving server, which has the override.
 */
import { failureSummary } from './load';
import { describeRollOut, expectShippedOrder, rollOut, stackForFile } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(180_000);

const RATE = 100;
const suite = stackForFile();

test('with one Eureka server down, the drain fails no request and stays within its worst-case plan', async () => {
  const s = suite.stack();
  const [drained, other] = s.instances as [DemoInstance, DemoInstance];
  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(drained.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);

  // Server A (listed first everywhere) goes away: SIGTERM, and wait until it is gone.
  await s.eurekaA.stop();
  expect(s.eurekaA.exited).toBe(true);

  const roll = await rollOut(drained, { sidecar: 'classic', stack: s });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  process.stdout.write(describeRollOut('one Eureka server down', drained, roll, load));
  process.stdout.write(
    `  load: ${JSON.stringify({ sent: result.sent, ok: result.ok, failed: result.failed, rate: result.achievedRate })}; ` +
      `servers ${JSON.stringify(roll.report.servers.map((x) => ({ put: x.put, verified: x.verified, liveMs: x.liveVerifiedMs, cacheMs: x.cacheVerifiedMs, error: x.error })))}; ` +
      `problems ${JSON.stringify(roll.report.problems)}\n`,
  );

  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });

  const { report, record } = roll;
  // The stopped server is counted unverified; the live one verified.
  expect(report.outcome).toBe('partly_verified');
  const [onA, onB] = report.servers;
  expect(onA).toMatchObject({ verified: false });
  expect(onB).toMatchObject({ put: 'ok', verified: true });
  // At most its worst case: cache + fetch + LB + tail, never cut short. The slack is not only scheduling: the
  // drainer primes every server's delta view before it PUTs anywhere (so a peer's replication cannot make an
  // unprimed server look verified early), and locates the instance on every server first; each of those steps
  // waits for the stopped server's retries (connection refused, 2 retries with backoff), so the override reaches
  // the live server 0.3–0.7 s after the drain started and its cache term counts from there. Measured: 1–457 ms over.
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);
  // The tight form of the same bound: from the moment the live server showed the override, no more than the plan.
  expect(report.durationMs).toBeLessThanOrEqual(onB!.liveVerifiedMs! + report.plan.drainMs + 300);
  expect(report.actual.tailEndedBy).toBe('fixed');

  expect(load.stats(drained.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(record.killed).toEqual([]);
  expectShippedOrder(roll);
  expect(record.app.exitCode).toBe(143);
  // The drainer exits by itself before the grace period ends (its exit code says whether the clean-up could
  // reach every server; it cannot reach the stopped one).
  expect(record.drainer!.exitCode).not.toBeNull();
  expect(record.drainerExitedAt!).toBeLessThan(record.graceDeadlineAt);
  // Gone from the surviving server.
  expect(await s.liveInstance(s.eurekaB, drained.instanceId)).toBeNull();
});
