import type { EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { DrainDeps, TakeOutMode } from './deps';
import { appViewEvidence, liveEvidence } from './evidence';
import { putBack } from './put-back';
import { track, type DrainRecord, type ServerState } from './record';

/** One PUT of the override; records when the server accepted it (the change reached it then). */
async function putOverride(deps: DrainDeps, record: DrainRecord, server: EurekaServerConfig, state: ServerState, signal: AbortSignal): Promise<void> {
  const { eureka, clock, config, logger } = deps;
  try {
    const outcome = await track(record, eureka.setStatusOverride(server, config.appName, record.instanceId!, 'OUT_OF_SERVICE', clock.now(), signal));
    state.put = outcome;
    if (outcome === 'ok') {
      const now = clock.now();
      state.putAt ??= now;
      state.changedAt = now;
      delete state.error;
    } else state.error = 'instance not registered on this server (yet)';
  } catch (error) {
    state.put = 'failed';
    state.error = describeError(error);
    logger.warn({ server: server.label, reason: state.error }, 'out-of-service request failed');
  }
}

/** Companion mode: the app has its own Eureka client; the drainer only sets and removes the override. */
export const companionMode: TakeOutMode = {
  name: 'companion',
  changeName: 'out-of-service request',
  begin: async () => undefined,
  change: putOverride,
  live: liveEvidence,
  cached: appViewEvidence,
  putBack: (deps, record) => (record.instanceId === undefined ? Promise.resolve([]) : putBack(deps, record.instanceId)),
};
