import { describeError } from '../errors';
import type { DrainDeps, TakeOutMode } from './deps';
import { appViewEvidence } from './evidence';
import { track } from './record';
import { REPLICATION_SETTLE_MS } from './replication-settle';

/** What the drain needs of the owner-mode registrar (src/owner/registrar.ts). */
export interface OwnedRegistration {
  /** Stop heartbeats and health-driven registration for good (until resume). */
  stopHeartbeats(): Promise<void>;
  /** Register again (UP for a healthy app) and resume heartbeats: an aborted drain, or the app came back. */
  resume(signal?: AbortSignal): Promise<unknown>;
}

/**
 * Owner mode: the drainer registered the app, so taking it out is stopping
 * the heartbeats and cancelling on every server directly; an instance that a
 * peer re-creates (a late replicated heartbeat, eureka-facts §5) is offered
 * again, and keep-out.ts cancels it again. Putting back is registering again.
 */
export function ownerMode(registration: OwnedRegistration, settleMs = REPLICATION_SETTLE_MS): TakeOutMode {
  return {
    name: 'owner',
    changeName: 'cancel',
    async begin(deps) {
      await registration.stopHeartbeats();
      deps.logger.info({ settleMs }, 'heartbeats stopped; letting the last renewal replicate before cancelling');
      await deps.clock.sleep(settleMs);
    },
    async change(deps: DrainDeps, record, server, state, signal) {
      const { eureka, clock, config, logger } = deps;
      try {
        // Absent is as good as cancelled: the server no longer offers it.
        await track(record, eureka.cancel(server, config.appName, record.instanceId!, signal));
        const now = clock.now();
        state.put = 'ok';
        state.putAt ??= now;
        state.changedAt = now;
        delete state.error;
      } catch (error) {
        state.put = 'failed';
        state.error = describeError(error);
        logger.warn({ server: server.label, reason: state.error }, 'cancel failed');
      }
    },
    live: (instance) => (instance === null ? 'out' : 'offered'),
    cached: appViewEvidence,
    async putBack(deps) {
      try {
        await registration.resume(AbortSignal.timeout(deps.config.eurekaTimeoutMs * (deps.config.eurekaRetries + 2)));
        return [];
      } catch (error) {
        return [`could not register the app again: ${describeError(error)}`];
      }
    },
  };
}
