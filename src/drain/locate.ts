import { describeError } from '../errors';
import { findOwnInstance } from '../eureka/find-instance';
import type { DrainDeps } from './deps';
import { untilSignal, type MovingTime } from './until';

/** What locate found: our instance id (if any server lists it), and which servers could not be asked. */
export interface Located {
  readonly instanceId: string | undefined;
  /** One entry a server, in config order. */
  readonly servers: readonly LocatedServer[];
  /** Why nothing can be taken out (the report's problems), when no server lists the instance. */
  readonly problem?: string;
}

export interface LocatedServer {
  /** Why this server could not be asked. */
  readonly error?: string;
}

/**
 * Step 1: which instance is ours. The app list is served from the response
 * cache, so a fresh registration may appear late: poll until `giveUpAt`
 * (read on every poll: it moves when the drain's deadline does; `signal`
 * ends a request in flight at the same time).
 */
export async function locate(deps: DrainDeps, giveUpAt: MovingTime, signal: AbortSignal): Promise<Located> {
  const { config, clock, eureka, logger } = deps;
  const bound = untilSignal(clock, giveUpAt, signal, 'verification cutoff reached');
  // Each server's entry in the report says why it could not be asked.
  const errors = new Map<number, string>();
  const onServerError = (server: (typeof config.servers)[number], error: unknown): void => {
    errors.set(config.servers.indexOf(server), `cannot list the app: ${describeError(error)}`);
  };
  try {
    for (;;) {
      const id = await findOwnInstance(config, eureka, logger, bound.signal, onServerError);
      if (id !== undefined) return { instanceId: id, servers: serversWith(config.servers, errors) };
      if (clock.now() + config.verifyPollMs >= giveUpAt.at()) return notFound(deps, 'no server lists it', errors);
      await clock.sleep(config.verifyPollMs, bound.signal);
    }
  } catch (error) {
    if (signal.aborted || !bound.expired()) throw error;
    return notFound(deps, 'eureka did not answer before the verification cutoff', errors);
  } finally {
    bound.cancel();
  }
}

/** The instance was not found, and why; the drain then waits the full plan. */
function notFound(deps: DrainDeps, why: string, errors: ReadonlyMap<number, string>): Located {
  const { config, logger } = deps;
  logger.error({ app: config.appName, podIp: config.podIp, port: config.appPort, why }, 'own instance not found in eureka: callers may still select it; waiting the full plan');
  return {
    instanceId: undefined,
    servers: serversWith(config.servers, errors),
    problem: `instance not found in eureka (app ${config.appName}, POD_IP ${config.podIp ?? '-'}, port ${config.appPort}): ${why}; nothing could be taken out; waiting the full plan`,
  };
}

/** Each server's entry: why it could not be asked, where it could not. */
function serversWith(servers: DrainDeps['config']['servers'], errors: ReadonlyMap<number, string>): LocatedServer[] {
  return servers.map((_server, i) => {
    const error = errors.get(i);
    return error === undefined ? {} : { error };
  });
}
