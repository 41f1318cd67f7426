import type { DrainDeps } from './deps';

/**
 * A peer retries a replicated status change for up to 30 s (eureka-facts §5:
 * maxTimeForReplication for status tasks), so after an abort or a restart an
 * override we removed can land again on one server, by replication of our
 * own earlier PUT, and nothing else would ever remove it.
 */
export const KEEP_BACK_MS = 35_000;

/**
 * Companion mode, after the instance was put back: for KEEP_BACK_MS, remove
 * an OUT_OF_SERVICE override that reappears on any server. Stops early when
 * `stillBack` says a new drain started (it must not fight the new take-out).
 */
export async function keepBack(deps: DrainDeps, instanceId: string, stillBack: () => boolean): Promise<number> {
  const { clock, config, eureka, logger } = deps;
  const until = clock.now() + KEEP_BACK_MS;
  let removed = 0;
  while (clock.now() < until) {
    await clock.sleep(Math.max(config.verifyPollMs * 2, 1_000));
    if (!stillBack()) return removed;
    await Promise.all(
      config.servers.map(async (server) => {
        try {
          const live = await eureka.getInstance(server, config.appName, instanceId, AbortSignal.timeout(config.eurekaTimeoutMs));
          if (live?.overriddenStatus !== 'OUT_OF_SERVICE' || !stillBack()) return;
          await eureka.removeStatusOverride(server, config.appName, instanceId, clock.now(), AbortSignal.timeout(config.eurekaTimeoutMs));
          removed++;
          logger.warn({ server: server.label, instanceId }, 'an OUT_OF_SERVICE override came back after the instance was put back (a late replication); removed it again');
        } catch (error) {
          logger.debug({ server: server.label, err: error }, 'cannot check that the instance stays in service');
        }
      }),
    );
  }
  return removed;
}
