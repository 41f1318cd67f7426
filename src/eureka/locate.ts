import type { EurekaInstance } from './codec';

export interface LocateCriteria {
  readonly instanceId?: string | undefined;
  readonly podIp?: string | undefined;
  readonly port: number;
}

export interface LocateResult {
  readonly instance: EurekaInstance;
  /** Other candidates that matched too (stale entries with a reused IP). */
  readonly alsoMatched: readonly EurekaInstance[];
}

/**
 * Pure: picks the app's own instance. An explicit id wins; otherwise
 * ipAddr == POD_IP and port.$ == the app port. When several match, the newest
 * registration is ours (older ones are leftovers of a previous pod with the
 * same IP), and the caller logs the others.
 */
export function locateInstance(instances: readonly EurekaInstance[], criteria: LocateCriteria): LocateResult | undefined {
  const matches = criteria.instanceId
    ? instances.filter((i) => i.instanceId === criteria.instanceId)
    : instances.filter((i) => i.ipAddr === criteria.podIp && i.port === criteria.port);
  if (matches.length === 0) return undefined;
  const sorted = [...matches].sort(
    (a, b) => b.registrationTimestamp - a.registrationTimestamp || b.lastRenewalTimestamp - a.lastRenewalTimestamp,
  );
  const [instance, ...alsoMatched] = sorted;
  return instance ? { instance, alsoMatched } : undefined;
}
