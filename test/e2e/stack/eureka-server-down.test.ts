/**
 * Scenario 5: one Eureka server of the pair is stopped just before the drain. The drainer cannot put the
 * override on it nor verify it, so it must count that server at its worst case (the full server-cache term from
 * the start of the drain) — and still answer within its worst-case plan, with no failed request: the callers
 * fail over to the surviving server, which has the override.
 */
import { failureSummary } from './load';
import { describeRollOut, expectShippedOrder, rollOut, stackForFile } from './scenario';
import { SCALED, type DemoInstance } from './stack';

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
  // At most its worst case, never cut short. The stopped server never accepted the override, so the change
  // could still reach it (by replication from the live peer) until the drainer stopped trying: its verification
  // cut-off, one cache term plus max(2 polls, 1 s) of slack after the start. Its callers may be served a stale
  // copy for one more cache term from then (src/drain/timing.ts), then fetch + LB + tail. So the bound is the
  // plan plus one cache term plus the slack, plus 1 s for scheduling on two busy cores.
  const slackMs = Math.max(2 * 100, 1_000);
  expect(report.durationMs).toBeGreaterThanOrEqual(SCALED.serverCacheMs + slackMs + report.plan.drainMs - 200);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + SCALED.serverCacheMs + slackMs + 1_000);
  // The stopped server is reported with why it is unproven, never with a null error.
  expect(onA!.error).toEqual(expect.any(String));
  expect(report.actual.tailEndedBy).toBe('fixed');

  expect(load.stats(drained.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(record.killed).toEqual([]);
  expectShippedOrder(roll);
  expect(record.app.exitCode).toBe(143);
  // The drainer exits by itself before the grace period ends, with 0: nothing is left that a caller can trip
  // over (the stopped server takes the registry from its peer when it returns); the unreachable server is counted.
  expect(record.drainer!.exitCode).toBe(0);
  expect(record.drainerExitedAt!).toBeLessThan(record.graceDeadlineAt);
  // Gone from the surviving server.
  expect(await s.liveInstance(s.eurekaB, drained.instanceId)).toBeNull();
});
