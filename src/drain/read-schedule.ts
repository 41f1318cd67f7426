/**
 * Pure: when to read one server's callers' view after our change reached it.
 *
 * A cached view changes only when the server's response-cache timer copies it
 * (`ResponseCacheImpl`, every `responseCacheUpdateIntervalMs`). The timer
 * first runs at a wall-clock multiple of the interval, but fixed-delay: every
 * late wake-up moves its phase for good, so the phase is not predictable (on
 * the real server, loaded, it had drifted by about half a 1 s interval within
 * two minutes of the start: test/e2e/eureka-cache-tick.test.ts). Reading
 * between ticks only repeats the last answer, and each read of a view that
 * proves anything holds a whole app or a whole wave, so a drain reads twice at
 * most:
 * 1. one interval plus a slack after the change: a tick fell in between
 *    wherever the phase is, and the slack covers the copy's own time (the
 *    delta is built under the registry's lock) and a timer a little late;
 * 2. if that still offers the instance (a timer later than the slack, or the
 *    race of test/e2e/eureka-cache-race.test.ts), one interval later.
 * A key still stale at the second read is held by the race, not by a tick:
 * timing.ts counts it until the key's auto-expiry.
 */

/** The most the reads wait past the interval. */
export const MAX_TICK_SLACK_MS = 500;

/** How long past the interval to read: a quarter of it on a fast cache, never more than MAX_TICK_SLACK_MS. */
export function tickSlackMs(serverCacheMs: number): number {
  return serverCacheMs === 0 ? MAX_TICK_SLACK_MS : Math.min(serverCacheMs / 4, MAX_TICK_SLACK_MS);
}

/**
 * How long after a change reached a server its cached views may still offer
 * the instance: the tick, one interval, plus the slack for the copy's own time
 * and a timer a little late (the tick copies the keys one after another, and a
 * large one, the full registry, was seen flipping a few ms past the interval:
 * test/e2e/eureka-cache-race.test.ts). 0 without the read-only cache.
 */
export function cacheTermMs(serverCacheMs: number): number {
  return serverCacheMs === 0 ? 0 : serverCacheMs + tickSlackMs(serverCacheMs);
}

/**
 * The two proof reads' times for a change that reached the server at
 * `changedAt`. With the read-only cache off (`serverCacheMs` 0) every read is
 * computed from the registry: read at once, and once more a slack later.
 */
export function proofReadTimes(changedAt: number, serverCacheMs: number): readonly [first: number, second: number] {
  if (!Number.isFinite(changedAt) || !Number.isFinite(serverCacheMs) || serverCacheMs < 0) {
    throw new RangeError(`proofReadTimes needs a finite change time and a cache interval of at least 0 ms, got ${changedAt} and ${serverCacheMs}`);
  }
  if (serverCacheMs === 0) return [changedAt, changedAt + tickSlackMs(0)];
  const first = changedAt + serverCacheMs + tickSlackMs(serverCacheMs);
  return [first, first + serverCacheMs];
}

/**
 * From when a read of the callers' view that still offers the instance shows
 * the key held by the race, not a late tick: the second read's time, by which
 * even a timer a whole interval late has copied the change.
 */
export function changeHeldBy(changedAt: number, serverCacheMs: number): number {
  return proofReadTimes(changedAt, serverCacheMs)[1];
}
