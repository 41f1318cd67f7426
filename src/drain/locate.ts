import { describeError } from '../errors';
import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';

/**
 * Step 1: which instance is ours. The app list is served from the response
 * cache, so a fresh registration may appear late: poll until `giveUpAt`.
 */
export async function locate(deps: DrainDeps, record: DrainRecord, giveUpAt: number, signal: AbortSignal): Promise<string | undefined> {
  const { config, clock, eureka, logger } = deps;
  // Each server's entry in the report says why it could not be asked.
  const onServerError = (server: (typeof config.servers)[number], error: unknown): void => {
    const state = record.servers[config.servers.indexOf(server)];
    if (state) state.error = `cannot list the app: ${describeError(error)}`;
  };
  for (;;) {
    const id = await findOwnInstance(config, eureka, logger, signal, onServerError);
    if (id !== undefined) return id;
    if (clock.now() + config.verifyPollMs >= giveUpAt) break;
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
