/**
 * At most one log line per kind per interval. A caller who can make the
 * drainer refuse requests (or drop connections) must not be able to fill the
 * disk or drown the drain's own lines; counters still see every event.
 *
 * Suppressed events are not lost from the log: the next line admitted for
 * that kind carries how many were dropped since the last one. Without a timer
 * that summary waits for the next event after the interval; the metric is
 * the exact count in between.
 */
export interface LogLimiter {
  /** Undefined: do not log. Otherwise log, adding `suppressed` when it is above 0. */
  admit(kind: string): { readonly suppressed: number } | undefined;
}

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export function createLogLimiter(intervalMs: number = REFUSAL_LOG_INTERVAL_MS, now: () => number = Date.now): LogLimiter {
  // Keyed by kind, which callers pass as constants, never request input: the map stays tiny.
  const state = new Map<string, { loggedAt: number; suppressed: number }>();
  return {
    admit(kind) {
      const time = now();
      const entry = state.get(kind);
      // A clock stepped back must not silence a kind until it catches up.
      if (entry === undefined || time - entry.loggedAt >= intervalMs || time < entry.loggedAt) {
        const suppressed = entry?.suppressed ?? 0;
        state.set(kind, { loggedAt: time, suppressed: 0 });
        return { suppressed };
      }
      entry.suppressed++;
      return undefined;
    },
  };
}
