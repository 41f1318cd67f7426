import type { DrainDeps } from './deps';
import type { LiveDeadlines } from './live-deadlines';
import type { TailEnd } from './record';
import { bounded, sleepBefore } from './until';

/** How the tail ended, and why the adaptive tail fell back to the fixed one (the report's problems). */
export interface TailWait {
  readonly end: TailEnd;
  readonly problem?: string;
}

/**
 * Step 5: the request tail. Fixed: the configured time after the client
 * window. Adaptive: end as soon as the app reports no active request (read
 * under the deadline: a slow metrics endpoint cannot overrun it), never
 * later than the fixed end. A failed read is read again on the next poll:
 * an app that stalls for a moment (a GC pause, a busy node) would otherwise
 * cost the whole fixed tail, measured at Spring's defaults as 10 s past the
 * provable bound (bench/README.md); until a read succeeds the fixed end holds. If the client window moves (`windowEnd`, asked on
 * every poll: a restored override), the tail waits for it again. The drain's
 * deadline is followed as it moves: a pause or a read in progress ends at the new one.
 */
export async function waitTail(deps: DrainDeps, windowEnd: () => number, deadlines: LiveDeadlines, signal: AbortSignal): Promise<TailWait> {
  const { clock, config, logger } = deps;
  const adaptive = config.tailMode !== 'fixed' && deps.readInFlight !== undefined;
  let fallback: TailWait = { end: 'fixed' };
  const answerBy = deadlines.time((d) => d.answerBy);
  for (;;) {
    const windowEndsAt = windowEnd();
    const fixedEnd = windowEndsAt + config.timings.tailMs;
    const now = clock.now();
    if (now >= answerBy.at() && now < fixedEnd) return { ...fallback, end: 'deadline' };
    if (now >= fixedEnd) return fallback;
    if (adaptive && now >= windowEndsAt) {
      // A read never outlasts the tail itself, nor the deadline.
      const readBy = deadlines.time((d) => Math.min(fixedEnd, d.answerBy));
      const reading = await bounded(clock, readBy, signal, (s) => deps.readInFlight!(s)).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return { ok: false as const, reason: clock.now() >= readBy.at() ? 'no answer before the end of the tail' : String(error) };
      });
      if (!reading.ok) {
        if (fallback.problem === undefined) logger.warn({ reason: reading.reason }, 'cannot read in-flight requests; reading again until the fixed tail ends');
        fallback = { end: 'metric_unreadable', problem: fallback.problem ?? `adaptive tail: ${reading.reason}; read again until the fixed tail's end` };
      } else if (reading.value <= config.tailIdleThreshold && clock.now() >= windowEnd()) {
        logger.info({ inFlight: reading.value, tailMs: clock.now() - windowEndsAt }, 'app idle: ending the tail early');
        return { end: 'idle', ...(fallback.problem === undefined ? {} : { problem: fallback.problem }) };
      }
    }
    const wake = adaptive && clock.now() >= windowEndsAt ? config.verifyPollMs : config.verifyPollMs * 4;
    await sleepBefore(clock, Math.max(0, Math.min(wake, fixedEnd - clock.now())), answerBy, signal);
  }
}
