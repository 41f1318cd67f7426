import type { Logger } from '../logger';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';

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

/** Companion mode, after a put-back (an abort, or the app restarted): keep the override off while `stillBack`; owner mode registers afresh and needs none. */
export function keepBackAfter(deps: DrainDeps, instanceId: string | undefined, stillBack: () => boolean): void {
  if (instanceId === undefined || deps.mode.name !== 'companion') return;
  void keepBack(deps, instanceId, stillBack).catch((error: unknown) => deps.logger.warn({ err: error }, 'watching the put-back failed'));
}

/** The app came back after a drain (the new process inherited our change): take it off everywhere, then keep it off while `stillBack`. */
export async function putBackAfterRestart(deps: DrainDeps, record: DrainRecord, log: Logger, stillBack: () => boolean): Promise<void> {
  log.info({ instanceId: record.instanceId }, 'app restarted after a drain: putting the instance back in service; the next preStop drains again');
  for (const failure of await deps.mode.putBack(deps, record)) log.warn({ err: failure }, 'could not put the instance back after the app restarted');
  keepBackAfter(deps, record.instanceId, stillBack);
}
