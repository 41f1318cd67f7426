import { describeError, EurekaRequestError } from '../errors';
import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';
import type { ServerState } from './record';

export interface CleanupResult {
  /** A reachable server kept a registration we could not delete: a caller or the next pod can trip over it. */
  readonly leftSomething: boolean;
  readonly instanceId: string | undefined;
}

/**
 * Step 7, once the app is gone: DELETE whatever registration is left on every
 * server, so no OUT_OF_SERVICE override outlives the pod. Never while the app
 * still heartbeats (watch-app.ts decides that): it would only re-register.
 *
 * A server we cannot reach is logged and counted, not an error: when it comes
 * back it takes the registry from its peers (where the entry is gone) or lets
 * the lease expire, and the next pod's start-up clears a stale override.
 */
export async function cleanUp(deps: DrainDeps, servers: ServerState[], knownId: string | undefined, until: number): Promise<CleanupResult> {
  const { config, clock, eureka, logger, metrics } = deps;
  const signal = AbortSignal.timeout(Math.max(1_000, until - clock.now()));
  // Servers that could not even be asked what they hold are unreachable, not "absent".
  const unasked = new Set<string>();
  const instanceId =
    knownId ?? (await findOwnInstance(config, eureka, logger, signal, (server) => unasked.add(server.label)).catch(() => undefined));
  let leftSomething = false;
  await Promise.all(
    config.servers.map(async (server, i) => {
      const state = servers[i]!;
      if (instanceId === undefined) {
        state.cleanup = unasked.has(server.label) ? 'unreachable' : 'absent';
        metrics.cleanupDelete(state.cleanup);
        return;
      }
      try {
        const outcome = await eureka.cancel(server, config.appName, instanceId, signal);
        state.cleanup = outcome === 'ok' ? 'deleted' : 'absent';
      } catch (error) {
        const unreachable = error instanceof EurekaRequestError && error.status === undefined;
        state.cleanup = unreachable ? 'unreachable' : 'failed';
        if (unreachable) logger.warn({ server: server.label, err: describeError(error) }, 'eureka server unreachable at clean-up: its entry goes when it syncs from its peers or the lease expires');
        else {
          leftSomething = true;
          logger.error({ server: server.label, err: describeError(error) }, 'cannot delete the leftover registration');
        }
      }
      metrics.cleanupDelete(state.cleanup);
    }),
  );
  return { leftSomething, instanceId };
}
