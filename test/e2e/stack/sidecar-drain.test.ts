/**
 * Scenarios 1 and 2: rolling one instance out under load, with the drainer as a classic sidecar and as a
 * native sidecar, on the real stack (Eureka pair, Spring Boot demo instances with their own Eureka client,
 * Spring Cloud Gateway as the caller) and the kubelet emulator. No request may fail, and no request may reach
 * the drained instance after its app got SIGTERM.
 */
import { failureSummary, type LoadGenerator, type LoadResult } from './load';
import { describeRollOut, rollOut, stackForFile } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(180_000);

const RATE = 100;
const suite = stackForFile();
let load: LoadGenerator | undefined;

afterEach(async () => {
  await suite.stopLoads();
  load = undefined;
});

function startLoad(): LoadGenerator {
  load = suite.startLoad(RATE, 90);
  return load;
}

/** What every drain must show, whatever the sidecar kind. */
async function expectCleanRollOut(drained: DemoInstance, others: readonly DemoInstance[], sidecar: 'classic' | 'native'): Promise<void> {
  const s = suite.stack();
  const l = load!;
  // The instance is in rotation under load before the drain starts (not a sleep: driven by the answers).
  await l.waitForServed(drained.instanceId, 20);
  for (const other of others) await l.waitForServed(other.instanceId, 20);

  const roll = await rollOut(drained, { sidecar });
  // Keep the load on for a while after the pod is gone: a late failure would show here.
  await l.waitForCompleted(RATE);
  const result: LoadResult = await l.stop();
  process.stdout.write(describeRollOut(`${sidecar} sidecar`, drained, roll, l));
  process.stdout.write(`  load: ${JSON.stringify({ sent: result.sent, ok: result.ok, failed: result.failed, rate: result.achievedRate, latencyMs: result.latencyMs })}\n`);

  // Zero failed requests.
  expect({ failed: result.failed, causes: failureSummary(result.failures), first: result.failures.slice(0, 3) }).toEqual({ failed: 0, causes: {}, first: [] });
  expect(result.unattributed).toBe(0);

  // The drain itself: verified on both servers, within its plan, the app told to go by the kubelet.
  const { record, report } = roll;
  expect(report.outcome).toBe('verified');
  expect(report.instanceId).toBe(drained.instanceId);
  expect(report.servers.every((x) => x.verified)).toBe(true);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_000);

  // Kubelet order: the app got SIGTERM only after its hook returned; nothing was SIGKILLed.
  expect(record.killed).toEqual([]);
  expect(record.appSigtermAt).toBeGreaterThanOrEqual(record.hookReturnedAt!);
  expect(record.app.exitCode).toBe(143); // graceful JVM exit after SIGTERM
  expect(record.drainer!.exitCode).toBe(0); // drain and clean-up finished
  if (sidecar === 'classic') {
    // SIGTERM to the sidecar at the start, while the drain runs: it kept serving /prestop.
    expect(record.drainerSigtermAt! - record.startedAt).toBeLessThan(100);
    expect(record.drainerSigtermAt!).toBeLessThan(record.hookReturnedAt!);
  } else {
    expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(record.appExitedAt!);
  }

  // No request reached the drained instance after its app got SIGTERM: its last answer came before it.
  const stats = l.stats(drained.instanceId)!;
  expect(stats.lastServedAt).toBeLessThan(record.appSigtermAt!);
  // …while the others kept serving after it.
  for (const other of others) expect(l.stats(other.instanceId)!.lastServedAt).toBeGreaterThan(record.appExitedAt!);

  // Its registration is gone on both servers (the app cancelled itself; the drainer checked and exited 0).
  expect(await s.liveOnBoth(drained.instanceId)).toEqual([null, null]);
}

test('classic sidecar: rolling one instance out under load fails no request', async () => {
  const [drained, other] = suite.stack().instances as [DemoInstance, DemoInstance];
  startLoad();
  await expectCleanRollOut(drained, [other], 'classic');
});

test('native sidecar: rolling one instance out under load fails no request', async () => {
  const s = suite.stack();
  const running = s.instances.filter((i) => !i.app.exited);
  expect(running.length).toBeGreaterThanOrEqual(1);
  startLoad();
  // A rolling update: the replacement pod is up and routed before the old one is drained.
  const replacement = await s.addInstance();
  const drained = running[0]!;
  await expectCleanRollOut(drained, [replacement, ...running.slice(1)], 'native');
});
