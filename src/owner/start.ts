import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { EurekaClient } from '../eureka/client';
import type { Logger } from '../logger';
import type { OwnerConfig } from './config';
import { RegistrationRejectedError } from './errors';
import { httpHealthRead } from './health-read';
import { createOwnerMetrics } from './metrics';
import { Registrar } from './registrar';

/**
 * Owner mode's start: the registrar waits for the app's health, registers it
 * on every server and heartbeats for it. A registration every server rejects
 * is a configuration problem (`onRejected`); anything else keeps retrying.
 */
export function startOwner(
  config: Config,
  owner: OwnerConfig,
  deps: { readonly eureka: EurekaClient; readonly clock: Clock; readonly logger: Logger; readonly registry: Registry; readonly onRejected: (error: Error) => void },
): Registrar {
  const registrar = new Registrar({
    config: owner,
    servers: config.servers,
    eureka: deps.eureka,
    clock: deps.clock,
    logger: deps.logger,
    metrics: createOwnerMetrics(deps.registry, deps.clock),
    readHealth: httpHealthRead(owner.healthTimeoutMs),
  });
  registrar.start().catch((error: unknown) => {
    if (error instanceof RegistrationRejectedError) deps.onRejected(error);
    else deps.logger.error({ err: error }, 'owner mode could not start');
  });
  return registrar;
}
