import { sleepUntil, type Clock } from './clock';
import type { Config } from './config';
import type { DrainController } from './drain/controller';
import type { Logger } from './logger';

/**
 * What SIGTERM means. As a classic sidecar the drainer gets it the moment pod
 * termination starts, in parallel with the kubelet's /prestop call, which may
 * come a little later: so SIGTERM while idle is "termination has begun", not
 * "exit now". Resolves with the exit code once the drain and the clean-up are
 * over, or when the grace period is about to end.
 */
export async function runTermination(deps: {
  readonly controller: DrainController;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<number> {
  const { controller, config, clock } = deps;
  const log = deps.logger.child({ component: 'lifecycle' });
  controller.signalReceived();
  const deadline = controller.exitDeadline();
  if (controller.currentPhase === 'idle' || controller.currentPhase === 'aborted') {
    log.info({ waitMs: config.sigtermPrestopWaitMs }, 'SIGTERM while idle: waiting for the /prestop call');
    const started = await controller.waitForDrainStart(config.sigtermPrestopWaitMs);
    log.info(
      { drainStarted: started },
      started ? '/prestop arrived: finishing the drain before exit' : 'no /prestop call: cleaning up once the app is gone',
    );
  } else {
    log.info({ phase: controller.currentPhase }, 'SIGTERM during a drain: finishing the drain and the clean-up first');
  }
  const outcome = await Promise.race([
    controller.settled().then((ok) => (ok ? 'settled' : 'settled_with_problems')),
    sleepUntil(clock, deadline).then(() => 'deadline' as const),
  ]);
  if (outcome === 'deadline') {
    log.warn({ deadlineAt: new Date(deadline).toISOString() }, 'grace period nearly over: exiting before the clean-up finished');
    return 1;
  }
  return outcome === 'settled' ? 0 : 1;
}
