import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';

/**
 * Startup hygiene for stable instance ids (StatefulSets, explicit ids): a pod
 * killed before its clean-up leaves an OUT_OF_SERVICE override that the next
 * process with the same id inherits, and it would never get traffic. Once
 * the app listens and is registered, remove such an override. Gives up after
 * `maxMs`, or as soon as `stillIdle` says a drain started or the pod is terminating.
 */
export async function clearStaleOverride(deps: DrainDeps, stillIdle: () => boolean, maxMs: number, everyMs: number): Promise<'cleared' | 'none' | 'gave_up'> {
  const { clock, config, eureka, logger } = deps;
  const log = logger.child({ component: 'startup' });
  const giveUpAt = clock.now() + maxMs;
  while (clock.now() < giveUpAt) {
    if (!stillIdle()) return 'gave_up';
    if ((await deps.probeApp()) === 'open') {
      const signal = AbortSignal.timeout(config.eurekaTimeoutMs * 3);
      const id = await findOwnInstance(config, eureka, log, signal).catch(() => undefined);
      if (id !== undefined) {
        let cleared = false;
        for (const server of config.servers) {
          const live = await eureka.getInstance(server, config.appName, id, signal).catch(() => undefined);
          if (live?.overriddenStatus !== 'OUT_OF_SERVICE' || !stillIdle()) continue;
          await eureka.removeStatusOverride(server, config.appName, id, clock.now(), signal).then(
            () => {
              cleared = true;
              log.warn({ server: server.label, instanceId: id }, 'cleared a stale OUT_OF_SERVICE override left by an earlier drain');
            },
            (error: unknown) => log.warn({ server: server.label, err: error }, 'could not clear a stale override'),
          );
        }
        return cleared ? 'cleared' : 'none';
      }
    }
    await clock.sleep(everyMs);
  }
  return 'gave_up';
}
