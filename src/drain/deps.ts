import type { AppExit } from '../app-exit';
import type { PortState } from '../app-probe';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { EurekaApi } from '../eureka/client';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Plan } from '../plan';
import type { InFlightReading } from '../tail';
import type { EurekaServerConfig } from '../config';
import type { EurekaInstance } from '../eureka/codec';
import type { DrainRecord } from './record';

/** What the drain's steps may use. Each step takes these, what it needs and a signal, and returns what it found; none holds state. */
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
  /** How the instance is taken out and put back: companion-mode.ts, or owner-mode.ts when the drainer owns the registration. */
  readonly mode: TakeOutMode;
}

/**
 * The one place the two registration modes differ: how the instance is taken
 * out of a server, what proves it is out, and how it is put back.
 * - companion (the app has its own Eureka client): the OUT_OF_SERVICE
 *   override, which survives the app's heartbeats; put back by removing it.
 * - owner (the drainer registered the app): stop the heartbeats, cancel on
 *   every server; put back by registering again and resuming heartbeats.
 * Every other step of the drain is shared.
 */
export interface TakeOutMode {
  readonly name: 'companion' | 'owner';
  /** What the change is called in logs: "out-of-service request", "cancel". */
  readonly changeName: string;
  /** Once, before any server is touched (owner: stop the heartbeats and let the last one's replication land). */
  begin(deps: DrainDeps, record: DrainRecord): Promise<void>;
  /** One attempt on one server; returns its answer (record.ts changeOn writes it into the server's cell). Never under the abort signal (take-out.ts). */
  change(deps: DrainDeps, instanceId: string, server: EurekaServerConfig, signal: AbortSignal): Promise<ChangeAnswer>;
  /** The live view: is the change in force on this server? */
  live(instance: EurekaInstance | null, app: string, id: string): 'out' | 'offered' | 'absent';
  /** Undo the change everywhere (abort, or the app came back); returns one line per failure. */
  putBack(deps: DrainDeps, record: DrainRecord): Promise<string[]>;
}

/** One server's answer to the mode's change: accepted at `at` (the change reached its registry then), or why not. */
export type ChangeAnswer = { readonly put: 'ok'; readonly at: number } | { readonly put: 'not_found' | 'failed'; readonly error: string };

/** Thrown into the waits by POST /drain/abort. */
export class DrainAborted extends Error {
  override name = 'DrainAborted';
}
