import type { Config } from '../config';
import type { Logger } from '../logger';
import type { EurekaApi } from './client';
import type { EurekaInstance } from './codec';
import { locateInstance } from './locate';

/**
 * Asks every server for the app's instances and picks ours. The app list is
 * served from the response cache, so a freshly registered app may show up
 * late; the caller polls. Returns undefined when no server knows it (yet).
 */
export async function findOwnInstance(
  config: Config,
  eureka: EurekaApi,
  logger: Logger,
  signal?: AbortSignal,
  onServerError?: (server: Config['servers'][number], error: unknown) => void,
): Promise<string | undefined> {
  if (config.instanceId) return config.instanceId;
  // The first server whose list holds our instance answers: a dead or
  // hanging server must not hold up the drain.
  const found = await new Promise<ReturnType<typeof locateInstance>>((resolve, reject) => {
    let pending = config.servers.length;
    const seen: EurekaInstance[] = [];
    for (const server of config.servers) {
      eureka
        .getApplication(server, config.appName, signal)
        .then(
          (instances) => {
            seen.push(...instances);
            const match = locateInstance(seen, { podIp: config.podIp, port: config.appPort });
            if (match) resolve(match);
          },
          (error: unknown) => {
            onServerError?.(server, error);
            if (signal?.aborted) reject(error);
            else logger.warn({ server: server.label, err: error }, 'cannot list the app on this eureka server');
          },
        )
        .finally(() => {
          if (--pending === 0) resolve(locateInstance(seen, { podIp: config.podIp, port: config.appPort }));
        });
    }
  });
  if (!found) return undefined;
  const others = [...new Set(found.alsoMatched.map((i) => i.instanceId).filter((id) => id !== found.instance.instanceId))];
  if (others.length > 0) {
    logger.warn(
      { instanceId: found.instance.instanceId, alsoMatched: others.slice(0, 10), podIp: config.podIp, port: config.appPort },
      'several instances match POD_IP and the app port; using the newest registration',
    );
  }
  return found.instance.instanceId;
}
