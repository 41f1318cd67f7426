import type { Timings } from '../config';
import { loadBalancerTerm } from '../plan';

/** What the drainer learned about one Eureka server during a drain. */
export interface ServerEvidence {
  /** When the server showed the instance as not UP in the view callers poll. */
  readonly cacheVerifiedAt?: number | undefined;
  /** The last time the callers' view still offered the instance as UP. */
  readonly lastStaleSeenAt?: number | undefined;
}

/**
 * Pure: from when may callers of this server no longer receive the instance
 * as UP? Verified: the time we saw it. Not verified: the worst case, the full
 * server-cache term from the start of the drain, and never earlier than the
 * last time we saw it still offered. Evidence only shortens what it proves.
 */
export function serverSettledAt(evidence: ServerEvidence, startedAt: number, timings: Timings): number {
  if (evidence.cacheVerifiedAt !== undefined) return evidence.cacheVerifiedAt;
  return Math.max(startedAt + timings.serverCacheMs, evidence.lastStaleSeenAt ?? 0);
}

/** Pure: the end of the client window — every server settled, then registry fetch + load balancer. */
export function clientWindowEnd(evidence: readonly ServerEvidence[], startedAt: number, timings: Timings): number {
  const settled = evidence.length === 0 ? [startedAt + timings.serverCacheMs] : evidence.map((e) => serverSettledAt(e, startedAt, timings));
  return Math.max(...settled) + timings.registryFetchMs + loadBalancerTerm(timings).ms;
}

/** How long to keep polling a server before counting it at its worst case. */
export function verificationCutoff(startedAt: number, timings: Timings, pollMs: number): number {
  // The cache timer drifts a little past its interval; allow two polls of slack.
  return startedAt + timings.serverCacheMs + Math.max(2 * pollMs, 1_000);
}
