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
 * The full registry (`/apps/`), which a full-fetching caller replaces its copy with: ours exactly
 * OUT_OF_SERVICE/DOWN there is out, and so is ours missing (cancelled, or never listed under our app): such a
 * caller then has no instance of ours to select.
 */
export function fullEvidence(instances: readonly EurekaInstance[], app: string, id: string): Evidence {
  const entry = instances.find((i) => ours(i, app, id));
  return entry === undefined || OUT_STATUSES.has(entry.status) ? 'out' : 'offered';
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
