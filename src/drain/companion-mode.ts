import type { EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { ChangeAnswer, DrainDeps, TakeOutMode } from './deps';
import { liveEvidence } from './evidence';
import { putBack } from './put-back';

/** One PUT of the override; accepted at the time the server answered (the change reached it then). */
async function putOverride(deps: DrainDeps, instanceId: string, server: EurekaServerConfig, signal: AbortSignal): Promise<ChangeAnswer> {
  const { eureka, clock, config, logger } = deps;
  try {
    const outcome = await eureka.setStatusOverride(server, config.appName, instanceId, 'OUT_OF_SERVICE', clock.now(), signal);
    return outcome === 'ok' ? { put: 'ok', at: clock.now() } : { put: 'not_found', error: 'instance not registered on this server (cancelled by the app, evicted, or not replicated here yet)' };
  } catch (error) {
    const failed = { put: 'failed', error: describeError(error) } as const;
    logger.warn({ server: server.label, err: error }, 'out-of-service request failed');
    return failed;
  }
}

/** Companion mode: the app has its own Eureka client; the drainer only sets and removes the override. */
export const companionMode: TakeOutMode = {
  name: 'companion',
  changeName: 'out-of-service request',
  begin: async () => undefined,
  change: putOverride,
  live: liveEvidence,
  putBack: (deps, record) => (record.instanceId === undefined ? Promise.resolve([]) : putBack(deps, record.instanceId)),
};
