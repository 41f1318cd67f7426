import type { EurekaServerConfig } from '../config';
import type { EurekaInstance } from '../eureka/codec';
import type { DrainDeps } from './deps';
import type { Evidence } from './evidence';
import type { DrainRecord, ServerState } from './record';

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
  /** One attempt on one server; on acceptance sets `state.put = 'ok'` and `state.changedAt`. Never under the abort signal (take-out.ts). */
  change(deps: DrainDeps, record: DrainRecord, server: EurekaServerConfig, state: ServerState, signal: AbortSignal): Promise<void>;
  /** The live view: is the change in force on this server? */
  live(instance: EurekaInstance | null, app: string, id: string): 'out' | 'offered' | 'absent';
  /** The cached view of the app (same tick as the callers' delta): does it prove callers stop getting the instance? */
  cached(instances: readonly EurekaInstance[], app: string, id: string): Evidence;
  /** Undo the change everywhere (abort, or the app came back); returns one line per failure. */
  putBack(deps: DrainDeps, record: DrainRecord): Promise<string[]>;
}
