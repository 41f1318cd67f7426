import type { Timings } from '../config';
import { loadBalancerTerm } from '../plan';

/** What the drainer learned about one Eureka server during a drain. */
export interface ServerEvidence {
  /** When the server showed the instance as not UP in the view callers poll. */
  readonly cacheVerifiedAt?: number | undefined;
  /** The last time the callers' view still offered the instance as UP. */
  readonly lastStaleSeenAt?: number | undefined;
  /**
   * False when the callers' view on this server was first read after the
   * change may already have reached it (by replication from a peer): our read
   * then computed a fresh payload while the callers' cached one could still be
   * stale, so seeing the change proves nothing about them.
   */
  readonly trusted?: boolean | undefined;
}

/** Pure: did this server prove that its callers no longer get the instance as UP? */
export function isVerified(evidence: ServerEvidence): boolean {
  return evidence.cacheVerifiedAt !== undefined && evidence.trusted !== false;
}

/** Replication batches leave a peer after about 500 ms; a prime this close to the first override is in time. */
export const PRIME_TOLERANCE_MS = 200;

/** Pure: was this server's view primed before the change could reach it from any server? */
export function primedInTime(primedAt: number | undefined, firstPutAt: number | undefined): boolean {
  if (primedAt === undefined) return false;
  return firstPutAt === undefined || primedAt <= firstPutAt + PRIME_TOLERANCE_MS;
}

/**
 * Pure: from when may callers of this server no longer receive the instance
 * as UP? Verified: the time we saw it. Not verified: the worst case, the full
 * server-cache term from the start of the drain, and never earlier than the
 * last time we saw it still offered. Evidence only shortens what it proves.
 */
export function serverSettledAt(evidence: ServerEvidence, startedAt: number, timings: Timings): number {
  if (isVerified(evidence) && evidence.cacheVerifiedAt !== undefined) return evidence.cacheVerifiedAt;
  return Math.max(startedAt + timings.serverCacheMs, evidence.lastStaleSeenAt ?? 0, evidence.cacheVerifiedAt ?? 0);
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
