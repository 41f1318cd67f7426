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
 * proves anything holds a whole app or a whole wave, so a drain reads it
 * once, or twice with a long interval, and once more only when that fails:
 * 0. with an interval of EARLY_READ_FROM_INTERVAL_MS or more, half an
 *    interval after the change: the tick that copies the change falls in
 *    that first half as often as not (wherever the phase is), and a read
 *    that shows us out proves it there, half an interval (15 s at Spring's
 *    defaults) before the next read could. Shorter intervals skip it: the
 *    most it could save is not worth another read of the wave;
 * 1. one interval plus a slack after the change: a tick fell in between
 *    wherever the phase is, and the slack covers the copy's own time (the
 *    delta is built under the registry's lock) and a timer a little late;
 * 2. if that still offers the instance (a timer later than the slack, or the
 *    race of test/e2e/eureka-cache-race.test.ts), one interval later.
 * A key still stale at the last read is held by the race, not by a tick:
 * timing.ts counts it until the key's auto-expiry.
 */

/** From this cache interval up, a drain also reads the callers' view half an interval after its change (read 0 above). */
export const EARLY_READ_FROM_INTERVAL_MS = 10_000;

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
 * The proof reads' times for a change that reached the server at
 * `changedAt`, in order: the early read (from an interval of
 * `earlyReadFromMs` up), then one term after the change, then one interval
 * later. With the read-only cache off (`serverCacheMs` 0) every read is
 * computed from the registry: read at once, and once more a slack later.
 * The drain always uses the default threshold; the cache-race test lowers it
 * to check the early read's claim on a fast cache.
 */
export function proofReadTimes(changedAt: number, serverCacheMs: number, earlyReadFromMs = EARLY_READ_FROM_INTERVAL_MS): readonly number[] {
  if (!Number.isFinite(changedAt) || !Number.isFinite(serverCacheMs) || serverCacheMs < 0) {
    throw new RangeError(`proofReadTimes needs a finite change time and a cache interval of at least 0 ms, got ${changedAt} and ${serverCacheMs}`);
  }
  if (serverCacheMs === 0) return [changedAt, changedAt + tickSlackMs(0)];
  const afterTick = changedAt + serverCacheMs + tickSlackMs(serverCacheMs);
  const early = serverCacheMs >= earlyReadFromMs ? [changedAt + serverCacheMs / 2] : [];
  return [...early, afterTick, afterTick + serverCacheMs];
}

/**
 * From when a read of the callers' view that still offers the instance shows
 * the key held by the race, not a late tick: the last read's time, by which
 * even a timer a whole interval late has copied the change.
 */
export function changeHeldBy(changedAt: number, serverCacheMs: number): number {
  return proofReadTimes(changedAt, serverCacheMs).at(-1)!;
}
