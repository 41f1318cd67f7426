import type { AppExit } from '../app-exit';
import type { PortState } from '../app-probe';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { EurekaApi } from '../eureka/client';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Plan } from '../plan';
import type { InFlightReading } from '../tail';
import { companionMode } from './companion-mode';
import type { TakeOutMode } from './mode';

/** What the drain's steps may use. Each step takes these, the per-drain record and a signal; none holds state. */
export interface DrainDeps {
  readonly config: Config;
  readonly plan: Plan;
  readonly clock: Clock;
  readonly eureka: EurekaApi;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly appExit: AppExit;
  readonly probeApp: () => Promise<PortState>;
  readonly readInFlight?: (signal: AbortSignal) => Promise<InFlightReading>;
  /** How the instance is taken out and put back; companion unless the drainer owns the registration. */
  readonly mode?: TakeOutMode;
}

export function modeOf(deps: DrainDeps): TakeOutMode {
  return deps.mode ?? companionMode;
}

/** Thrown into the waits by POST /drain/abort. */
export class DrainAborted extends Error {
  override name = 'DrainAborted';
}
