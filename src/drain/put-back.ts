import { describeError } from '../errors';
import type { DrainDeps } from './deps';

/**
 * Removes our override on every server, with the form that lets the app's
 * own heartbeats set its real status again (eureka-facts §3), and checks the
 * live view afterwards: a PUT that landed late would otherwise leave the pod
 * out of service for good. Returns what failed, one line a server.
 */
export async function putBack(deps: DrainDeps, instanceId: string): Promise<string[]> {
  const { config, eureka, clock } = deps;
  const failures = await Promise.all(
    config.servers.map(async (server) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await eureka.removeStatusOverride(server, config.appName, instanceId, clock.now(), AbortSignal.timeout(config.eurekaTimeoutMs));
          const live = await eureka.getInstance(server, config.appName, instanceId, AbortSignal.timeout(config.eurekaTimeoutMs));
          if (live === null || live.overriddenStatus !== 'OUT_OF_SERVICE') return undefined;
        } catch (error) {
          if (attempt === 2) return `${server.label}: could not remove the override: ${describeError(error)}`;
        }
      }
      return `${server.label}: the override came back after it was removed three times`;
    }),
  );
  return failures.filter((f): f is string => f !== undefined);
}
