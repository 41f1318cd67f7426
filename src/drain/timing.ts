import type { Timings } from '../config';
import { loadBalancerTerm } from '../plan';

/** What the drainer learned about one Eureka server, as far as the waits are concerned. */
export interface ServerEvidence {
  /** When this server last accepted our override: from then on its registry holds the change. */
  readonly changedAt?: number | undefined;
  /** When the server showed the instance as out in the view callers poll. */
  readonly cacheVerifiedAt?: number | undefined;
  /** The last time the callers' view still offered the instance as UP. */
  readonly lastStaleSeenAt?: number | undefined;
  /**
   * False when the callers' view on this server cannot prove a fresh change:
   * it was first read after the change may already have reached it (by
   * replication from a peer), or it already showed us out before our PUT.
   */
  readonly trusted?: boolean | undefined;
  /** Our override vanished and was put back: what we saw before proves nothing about now. */
  readonly restored?: number | undefined;
}

/** Pure: did this server prove that its callers no longer get the instance as UP? */
export function isVerified(evidence: ServerEvidence): boolean {
  return evidence.cacheVerifiedAt !== undefined && evidence.trusted === true && (evidence.restored ?? 0) === 0;
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
 * as UP?
 *
 * The rule: a server's callers can be served a stale copy for one full
 * server-cache term after the change last reached that server's registry.
 * - Verified (a trusted read of the callers' view showed us out): the time of
 *   that read.
 * - Not verified: the worst case, one server-cache term counted from when the
 *   change could last have reached it: the last PUT it accepted, or, if it
 *   never accepted one (the change may still arrive by replication from a
 *   peer), the moment we stopped trying (`gaveUpAt`). Never earlier than the
 *   last time we saw it still offered.
 * Evidence only shortens what it proves; the drain's start is never a base.
 */
export function serverSettledAt(evidence: ServerEvidence, gaveUpAt: number, timings: Timings): number {
  if (isVerified(evidence) && evidence.cacheVerifiedAt !== undefined) return evidence.cacheVerifiedAt;
  const reachedBy = evidence.changedAt ?? gaveUpAt;
  return Math.max(reachedBy + timings.serverCacheMs, evidence.lastStaleSeenAt ?? 0, evidence.cacheVerifiedAt ?? 0);
}

/** Pure: the end of the client window — every server settled, then registry fetch + load balancer. */
export function clientWindowEnd(servers: readonly (ServerEvidence & { readonly gaveUpAt?: number | undefined })[], fallbackGaveUpAt: number, timings: Timings): number {
  const settled = servers.length === 0 ? [fallbackGaveUpAt + timings.serverCacheMs] : servers.map((s) => serverSettledAt(s, s.gaveUpAt ?? fallbackGaveUpAt, timings));
  return Math.max(...settled) + timings.registryFetchMs + loadBalancerTerm(timings).ms;
}

/**
 * How long to wait between two reads of a server's cached view: the evidence
 * changes only on a cache tick, so polling faster than a fraction of the
 * interval only adds load; a thousand drainers must not poll in step either,
 * so each pause is jittered by ±20 %.
 */
export function verifyPause(pollMs: number, serverCacheMs: number, random: () => number = Math.random): number {
  const base = Math.max(pollMs, serverCacheMs / 16);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The cache timer drifts a little past its interval; allow two (jittered) polls of slack. */
export function cacheSlackMs(pollMs: number, serverCacheMs = 0): number {
  return Math.max(2.4 * Math.max(pollMs, serverCacheMs / 16), 1_000);
}

/**
 * How long to keep polling a server before counting it at its worst case:
 * one cache term (plus slack) after the change reached it, or after the drain
 * started while no PUT has been accepted yet.
 */
export function verificationCutoff(changedAt: number | undefined, startedAt: number, timings: Timings, pollMs: number): number {
  return (changedAt ?? startedAt) + timings.serverCacheMs + cacheSlackMs(pollMs, timings.serverCacheMs);
}
