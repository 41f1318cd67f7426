import type { EurekaInstance } from '../eureka/codec';

/**
 * Pure: what one answer of Eureka proves about our instance. Only positive
 * evidence for our app AND our id counts: Eureka keys overrides by id alone
 * (eureka-facts §3), so another app's entry with our id proves nothing, and
 * a missing, lower-case or unknown status is not "out".
 */
export type Evidence = 'out' | 'offered';

const OUT_STATUSES = new Set(['OUT_OF_SERVICE', 'DOWN']);

function ours(instance: EurekaInstance, app: string, id: string): boolean {
  return instance.instanceId === id && instance.app === app.toUpperCase();
}

/**
 * The app's own cached view (`/apps/{APP}`): the full list of the app's
 * instances, refreshed on the same cache tick as the delta callers poll
 * (proven by the contract test), but sized by the app, not by the fleet's
 * recent changes — during a mass drain the delta carries the whole wave.
 * Ours listed as exactly OUT_OF_SERVICE/DOWN, or not listed at all
 * (cancelled), is out; listed any other way is offered.
 */
export function appViewEvidence(instances: readonly EurekaInstance[], app: string, id: string): Evidence {
  const entry = instances.find((i) => ours(i, app, id));
  if (entry === undefined) return 'out';
  return OUT_STATUSES.has(entry.status) ? 'out' : 'offered';
}

/**
 * The delta callers poll (`/apps/delta`): the instances changed in the last 3 minutes. Ours there as exactly
 * OUT_OF_SERVICE/DOWN, or DELETED (a cancel), is out. Ours missing is not: a delta from before our change does
 * not list it (the key kept a value loaded before the change: test/e2e/eureka-cache-race.test.ts).
 */
export function deltaEvidence(instances: readonly EurekaInstance[], app: string, id: string): Evidence {
  const entry = instances.find((i) => ours(i, app, id));
  if (entry === undefined) return 'offered';
  return entry.actionType === 'DELETED' || OUT_STATUSES.has(entry.status) ? 'out' : 'offered';
}

/**
 * The live view (`/apps/{APP}/{ID}`): is the instance out on this server?
 * Our override in force, or the app's own DOWN (a shutting-down app sends it;
 * Eureka's DownOrStartingRule lets it win over the override, and callers
 * select only UP instances): either way callers no longer get it.
 */
export function liveEvidence(instance: EurekaInstance | null, app: string, id: string): 'out' | 'offered' | 'absent' {
  if (instance === null) return 'absent';
  if (!ours(instance, app, id)) return 'offered';
  if (instance.status === 'DOWN') return 'out';
  return instance.status === 'OUT_OF_SERVICE' && instance.overriddenStatus === 'OUT_OF_SERVICE' ? 'out' : 'offered';
}
