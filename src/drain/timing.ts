import type { Timings } from '../config';
import { loadBalancerTerm } from '../plan';
import { cacheTermMs, changeHeldBy } from './read-schedule';

/** What the drainer learned about one Eureka server, as far as the waits are concerned. */
export interface ServerEvidence {
  /** When this server last accepted our override: from then on its registry holds the change. */
  readonly changedAt?: number | undefined;
  /** When the server showed the instance as out in the view callers poll. */
  readonly cacheVerifiedAt?: number | undefined;
  /** When the last read that found the callers' view still offering the instance as UP was sent (it was served after). */
  readonly lastStaleSeenAt?: number | undefined;
  /** Our override vanished and was put back: what we saw before proves nothing about now. */
  readonly restored?: number | undefined;
}

/** Pure: did this server prove that its callers no longer get the instance as UP (verify.ts), for the change in force now? */
export function isVerified(evidence: ServerEvidence): boolean {
  return evidence.cacheVerifiedAt !== undefined && (evidence.restored ?? 0) === 0;
}

/**
 * Pure: was the callers' view seen stale when it must already have held the
 * change (read-schedule.ts changeHeldBy)? Then no tick ends it: the cache race
 * (google/guava#1881, test/e2e/eureka-cache-race.test.ts) kept a value loaded
 * before the change, and the key serves it until its next invalidation, which
 * the drainer cannot see coming, or its auto-expiry.
 */
export function staleKeyHeld(evidence: ServerEvidence, timings: Timings): boolean {
  if (evidence.changedAt === undefined || evidence.lastStaleSeenAt === undefined) return false;
  return evidence.lastStaleSeenAt >= changeHeldBy(evidence.changedAt, timings.serverCacheMs);
}

/**
 * Pure: from when may callers of this server no longer receive the instance
 * as UP?
 *
 * The rule: a server's callers can be served a stale copy for one full
 * server-cache term (read-schedule.ts cacheTermMs: the interval and the
 * tick's slack) after the change last reached that server's registry.
 * - Verified (a proof read of the callers' view showed us out): the time of
 *   that read, or one term after the change if that is earlier (provenAt).
 * - Not verified: the worst case, one server-cache term counted from when the
 *   change could last have reached it: the last PUT it accepted, or, if it
 *   never accepted one (the change may still arrive by replication from a
 *   peer), the moment we stopped trying (`gaveUpAt`). Never earlier than the
 *   last time we saw it still offered.
 * - Seen stale past the tick that must have held the change (staleKeyHeld):
 *   not one term but the key's auto-expiry. The stale value was loaded no
 *   later than the read that saw it, expires `serverCacheExpiryMs` after its
 *   load, and the next tick copies the fresh one: so the drain then waits that
 *   read + the expiry (180 s by default) + one term before the registry fetch
 *   and the load balancer, which at Spring's defaults runs to the drain's
 *   deadline. Shorter would trust a key that has shown it ignores ticks.
 * Evidence only shortens what it proves; the drain's start is never a base.
 */
export function serverSettledAt(evidence: ServerEvidence, gaveUpAt: number, timings: Timings): number {
  if (isVerified(evidence) && evidence.cacheVerifiedAt !== undefined) return provenAt(evidence, evidence.cacheVerifiedAt, timings);
  const reachedBy = evidence.changedAt ?? gaveUpAt;
  const term = cacheTermMs(timings.serverCacheMs);
  const held = staleKeyHeld(evidence, timings) ? evidence.lastStaleSeenAt! + timings.serverCacheExpiryMs + term : 0;
  return Math.max(reachedBy + term, evidence.lastStaleSeenAt ?? 0, evidence.cacheVerifiedAt ?? 0, held);
}

/**
 * When a proof settles its server: the proof's own time (a key that has shown
 * the change never offers the instance again: test/e2e/eureka-cache-race.test.ts
 * counts 0 such answers), or one term after the change if that is earlier.
 * A proof read one term after the change (read-schedule.ts) shows the key was
 * not held by the race, and the tick that copied the change came within one
 * term of it: the same model as the unverified worst case, which the proof
 * cannot make later; the early read of a long interval proves it at its own,
 * earlier time.
 * A read that saw the key stale since the change puts the flip after that
 * read: then the proof's own time.
 */
function provenAt(evidence: ServerEvidence, cacheVerifiedAt: number, timings: Timings): number {
  const { changedAt, lastStaleSeenAt } = evidence;
  if (changedAt === undefined || (lastStaleSeenAt !== undefined && lastStaleSeenAt >= changedAt)) return cacheVerifiedAt;
  return Math.min(cacheVerifiedAt, changedAt + cacheTermMs(timings.serverCacheMs));
}

/** Pure: the end of the client window — every server settled, then registry fetch + load balancer. */
export function clientWindowEnd(servers: readonly (ServerEvidence & { readonly gaveUpAt?: number | undefined })[], fallbackGaveUpAt: number, timings: Timings): number {
  const settled = servers.length === 0 ? [fallbackGaveUpAt + cacheTermMs(timings.serverCacheMs)] : servers.map((s) => serverSettledAt(s, s.gaveUpAt ?? fallbackGaveUpAt, timings));
  return Math.max(...settled) + timings.registryFetchMs + loadBalancerTerm(timings).ms;
}

/**
 * How long to wait between two polls (keep-out's watch; verify's tries of the
 * PUT and the live view): polling faster than a fraction of the cache interval
 * only adds load; a thousand drainers must not poll in step either, so each
 * pause is jittered by ±20 %. The callers' view has its own schedule
 * (read-schedule.ts).
 */
export function verifyPause(pollMs: number, serverCacheMs: number, random: () => number = Math.random): number {
  const base = Math.max(pollMs, serverCacheMs / 16);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Time for a last request to answer before the cutoff; while no PUT was accepted, also the cache timer's drift. */
export function cacheSlackMs(pollMs: number, serverCacheMs = 0): number {
  return Math.max(2.4 * Math.max(pollMs, serverCacheMs / 16), 1_000);
}

/**
 * How long to keep verifying a server before counting it at its worst case:
 * once the change reached it, the last proof read (read-schedule.ts) and
 * the time for its answer; while no PUT has been accepted yet, one cache term
 * (plus slack) after the drain started.
 */
export function verificationCutoff(changedAt: number | undefined, startedAt: number, timings: Timings, pollMs: number): number {
  const slack = cacheSlackMs(pollMs, timings.serverCacheMs);
  if (changedAt === undefined) return startedAt + timings.serverCacheMs + slack;
  return changeHeldBy(changedAt, timings.serverCacheMs) + slack;
}
