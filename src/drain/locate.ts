import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';

/**
 * Step 1: which instance is ours. The app list is served from the response
 * cache, so a fresh registration may appear late: poll until `giveUpAt`.
 */
export async function locate(deps: DrainDeps, record: DrainRecord, giveUpAt: number, signal: AbortSignal): Promise<string | undefined> {
  const { config, clock, eureka, logger } = deps;
  for (;;) {
    const id = await findOwnInstance(config, eureka, logger, signal);
    if (id !== undefined) return id;
    if (clock.now() + config.verifyPollMs >= giveUpAt) break;
    await clock.sleep(config.verifyPollMs, signal);
  }
  record.problems.push(`instance not found in eureka (app ${config.appName}, POD_IP ${config.podIp ?? '-'}, port ${config.appPort}); nothing could be taken out; waiting the full plan`);
  logger.error({ app: config.appName, podIp: config.podIp, port: config.appPort }, 'own instance not found in eureka: callers may still select it; waiting the full plan');
  return undefined;
}
