import type { EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { DrainDeps, TakeOutMode } from './deps';
import { REPLICATION_SETTLE_MS } from './replication-settle';

/** What the drain needs of the owner-mode registrar (src/owner/registrar.ts). */
export interface OwnedRegistration {
  /** Stop heartbeats and health-driven registration for good (until resume). */
  stopHeartbeats(): Promise<void>;
  /** Cancel the lease on one server (the take-out, after the heartbeats stopped): the registrar then knows it no longer holds it there. */
  cancel(server: EurekaServerConfig, signal: AbortSignal): Promise<unknown>;
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
    async change(deps: DrainDeps, _instanceId, server, signal) {
      const { clock, logger } = deps;
      try {
        // Absent is as good as cancelled: the server no longer offers it.
        await registration.cancel(server, signal);
        return { put: 'ok', at: clock.now() };
      } catch (error) {
        const failed = { put: 'failed', error: describeError(error) } as const;
        logger.warn({ server: server.label, err: error }, 'cancel failed');
        return failed;
      }
    },
    live: (instance) => (instance === null ? 'out' : 'offered'),
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
