/**
 * `npm run demo`: the whole story on the real stack in about a minute.
 *
 * A replicating Eureka pair, two Spring Boot instances of `demo` (each with its
 * own Eureka client and a drainer beside it) and Spring Cloud Gateway routing
 * `lb://demo`, all with scaled-down intervals, under 100 requests/s.
 *   1. One instance is rolled out the way the kubelet does it, with the drainer.
 *   2. The other is stopped the usual way, SIGTERM without a drain, after a
 *      replacement has joined.
 * It prints what each cost in failed requests. Exit code 0 when the drained
 * roll-out failed no request.
 */
import { terminatePod } from '../test/e2e/stack/kubelet';
import { failureSummary, LoadGenerator, type LoadResult } from '../test/e2e/stack/load';
import { rollOut } from '../test/e2e/stack/scenario';
import { Stack, type DemoInstance } from '../test/e2e/stack/stack';
import { assertJavaToolchain } from '../test/e2e/support/spring-app';

const RATE = 100;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

function startLoad(stack: Stack): LoadGenerator {
  return new LoadGenerator({ url: stack.helloUrl, ratePerSecond: RATE, maxRequests: RATE * 60, maxDurationMs: 60_000 }).start();
}

function loadLine(result: LoadResult): string {
  const causes = failureSummary(result.failures);
  return `${result.sent} requests, ${result.failed} failed${result.failed ? ` ${JSON.stringify(causes)}` : ''}`;
}

export async function main(): Promise<number> {
  assertJavaToolchain();
  say('eureka-drainer demo: starting a Eureka pair, 2 Spring Boot instances with a drainer each, and Spring Cloud Gateway…');
  const stack = await Stack.start({ demos: 2, log: (line) => say(`  ${line}`) });
  try {
    const [drained, stopped] = stack.instances as [DemoInstance, DemoInstance];
    say(`gateway: ${stack.helloUrl}  (cache 1 s, fetch 1 s, LoadBalancer TTL 2 s, tail 1 s: plan 5 s)`);

    say(`\n1) rolling out ${drained.instanceId} WITH the drainer, under ${RATE} requests/s`);
    say('   kubelet: preStop GET /prestop on the drainer, SIGTERM to the classic sidecar at once, SIGTERM to the app when the hook returns');
    let load = startLoad(stack);
    await load.waitForServed(drained.instanceId, 20);
    await load.waitForServed(stopped.instanceId, 20);
    const roll = await rollOut(drained, { sidecar: 'classic' });
    await load.waitForCompleted(RATE * 2);
    const withDrainer = await load.stop();
    const r = roll.report;
    say(`   drain answered after ${r.durationMs} ms (plan ${r.plan.drainMs} ms), outcome ${r.outcome}`);
    for (const s of r.servers) say(`   ${s.server}: override ${s.put}, live view at ${s.liveVerifiedMs} ms, callers' view at ${s.cacheVerifiedMs} ms`);
    const last = withDrainer.perInstance[drained.instanceId];
    if (last && roll.record.appSigtermAt) say(`   last request served by it ${roll.record.appSigtermAt - last.lastServedAt} ms before its SIGTERM`);
    say(`   load: ${loadLine(withDrainer)}`);

    say(`\n2) starting a replacement, then stopping ${stopped.instanceId} WITHOUT a drain (SIGTERM at once)`);
    const replacement = await stack.addInstance({ drainer: false });
    await stack.waitRouted([replacement.instanceId], 30_000);
    load = startLoad(stack);
    await load.waitForServed(stopped.instanceId, 20);
    await terminatePod({ app: stopped.app, terminationGracePeriodSeconds: 30 });
    await load.waitForCompleted(RATE * 6);
    const without = await load.stop();
    say(`   load: ${loadLine(without)}`);

    say('\nsummary');
    say(`   with the drainer:    ${withDrainer.failed} failed of ${withDrainer.sent}`);
    say(`   without the drainer: ${without.failed} failed of ${without.sent}`);
    return withDrainer.failed === 0 ? 0 : 1;
  } finally {
    await stack.stop();
  }
}
