/**
 * Scenario 6: a rolling update of a two-instance deployment (maxSurge 1, maxUnavailable 0) under one continuous
 * load: for each old pod, a replacement instance starts and is routed by the gateway, then the old pod is
 * terminated through the kubelet emulator with its drainer as a classic sidecar. No request may fail.
 */
import { failureSummary } from './load';
import { describeRollOut, expectShippedOrder, rollOut, stackForFile, type RollOut } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(240_000);

const RATE = 100;
const suite = stackForFile();

test('rolling both instances of the pair, one after the other, fails no request', async () => {
  const s = suite.stack();
  const old = [...s.instances] as [DemoInstance, DemoInstance];
  const load = suite.startLoad(RATE, 150);
  for (const instance of old) await load.waitForServed(instance.instanceId, 20);

  const rolls: { drained: DemoInstance; replacement: DemoInstance; roll: RollOut }[] = [];
  for (const drained of old) {
    const replacement = await s.addInstance();
    await load.waitForServed(replacement.instanceId, 20);
    const roll = await rollOut(drained, { sidecar: 'classic', stack: s });
    process.stdout.write(describeRollOut('rolling update', drained, roll, load));
    rolls.push({ drained, replacement, roll });
  }
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  process.stdout.write(`  load: ${JSON.stringify({ sent: result.sent, ok: result.ok, failed: result.failed, rate: result.achievedRate, perInstance: Object.values(result.perInstance).map((x) => [x.instanceId, x.served]) })}\n`);

  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  for (const { drained, replacement, roll } of rolls) {
    expect(roll.report.outcome).toBe('verified');
    expect(roll.report.durationMs).toBeLessThanOrEqual(roll.report.plan.drainMs + 1_000);
    expect(roll.record.killed).toEqual([]);
    expectShippedOrder(roll);
    expect(roll.record.app.exitCode).toBe(143);
    expect(roll.record.drainer!.exitCode).toBe(0);
    expect(result.perInstance[drained.instanceId]!.lastServedAt).toBeLessThan(roll.record.appSigtermAt!);
    expect(result.perInstance[replacement.instanceId]!.lastServedAt).toBeGreaterThan(roll.record.appExitedAt!);
    expect(await s.liveOnBoth(drained.instanceId)).toEqual([null, null]);
  }
  // Both replacements serve at the end; the old ones are gone.
  expect(old.every((i) => i.app.exited)).toBe(true);
});
