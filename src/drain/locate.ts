import { describeError } from '../errors';
import type { EurekaInstance } from '../eureka/codec';
import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';
import type { MovingTime } from './until';

/**
 * Step 1: which instance is ours. The app list is served from the response
 * cache, so a fresh registration may appear late: poll until `giveUpAt`
 * (read on every poll: it moves when the drain's deadline does; `signal`
 * ends a request in flight at the same time).
 *
 * The list it reads is the app's cached view, the key verify.ts polls: a
 * server's answer that arrived before locate returned (so before any change
 * was sent) and offered our instance is that server's prime, and take-out.ts
 * does not read it again (one request less per server; issue 10).
 */
export async function locate(deps: DrainDeps, record: DrainRecord, giveUpAt: MovingTime, signal: AbortSignal): Promise<string | undefined> {
  const { config, clock, eureka, logger } = deps;
  // Each server's entry in the report says why it could not be asked.
  const onServerError = (server: (typeof config.servers)[number], error: unknown): void => {
    const state = record.servers[config.servers.indexOf(server)];
    if (state) state.error = `cannot list the app: ${describeError(error)}`;
  };
  const answers = new Map<number, { at: number; instances: readonly EurekaInstance[] }>();
  let done = false;
  const onServerAnswer = (server: (typeof config.servers)[number], instances: readonly EurekaInstance[]): void => {
    if (!done) answers.set(config.servers.indexOf(server), { at: clock.now(), instances });
  };
  for (;;) {
    const id = await findOwnInstance(config, eureka, logger, signal, onServerError, onServerAnswer);
    if (id !== undefined) {
      done = true;
      for (const [i, answer] of answers) {
        const state = record.servers[i];
        if (state && deps.mode.cached(answer.instances, config.appName, id) === 'offered') {
          state.primedAt = answer.at;
          state.primedStale = false;
        }
      }
      return id;
    }
    if (clock.now() + config.verifyPollMs >= giveUpAt.at()) break;
    await clock.sleep(config.verifyPollMs, signal);
  }
  return notFound(deps, record, 'no server lists it');
}

/** Records that the instance was not found, and why; the drain then waits the full plan. */
export function notFound(deps: DrainDeps, record: DrainRecord, why: string): undefined {
  const { config, logger } = deps;
  record.problems.push(`instance not found in eureka (app ${config.appName}, POD_IP ${config.podIp ?? '-'}, port ${config.appPort}): ${why}; nothing could be taken out; waiting the full plan`);
  logger.error({ app: config.appName, podIp: config.podIp, port: config.appPort, why }, 'own instance not found in eureka: callers may still select it; waiting the full plan');
  return undefined;
}
