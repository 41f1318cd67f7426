import type { DrainDeps } from './deps';
import type { DrainRecord, TailEnd } from './record';
import { bounded, sleepBefore } from './until';
import { windowEndOf } from './wait-clients';

/**
 * Step 5: the request tail. Fixed: the configured time after the client
 * window. Adaptive: end as soon as the app reports no active request (read
 * under the deadline: a slow metrics endpoint cannot overrun it), never
 * later than the fixed end. If the client window moves (a restored override),
 * the tail waits for it again. The drain's deadline is followed as it moves:
 * a pause or a read in progress ends at the new one.
 */
export async function waitTail(deps: DrainDeps, record: DrainRecord, signal: AbortSignal): Promise<TailEnd> {
  const { clock, config, logger } = deps;
  let adaptive = config.tailMode !== 'fixed' && deps.readInFlight !== undefined;
  let fallback: TailEnd = 'fixed';
  const answerBy = record.deadlines.time((d) => d.answerBy);
  for (;;) {
    const windowEnd = windowEndOf(deps, record);
    record.windowEnd = windowEnd;
    const fixedEnd = windowEnd + config.timings.tailMs;
    const now = clock.now();
    if (now >= answerBy.at() && now < fixedEnd) return 'deadline';
    if (now >= fixedEnd) return fallback;
    if (adaptive && now >= windowEnd) {
      // A read never outlasts the tail itself, nor the deadline.
      const readBy = record.deadlines.time((d) => Math.min(fixedEnd, d.answerBy));
      const reading = await bounded(clock, readBy, signal, (s) => deps.readInFlight!(s)).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return { ok: false as const, reason: clock.now() >= readBy.at() ? 'no answer before the end of the tail' : String(error) };
      });
      if (!reading.ok) {
        record.problems.push(`adaptive tail: ${reading.reason}; waiting the fixed tail`);
        logger.warn({ reason: reading.reason }, 'cannot read in-flight requests; falling back to the fixed tail');
        adaptive = false;
        fallback = 'metric_unreadable';
        continue;
      }
      if (reading.value <= config.tailIdleThreshold && clock.now() >= windowEndOf(deps, record)) {
        logger.info({ inFlight: reading.value, tailMs: clock.now() - windowEnd }, 'app idle: ending the tail early');
        return 'idle';
      }
    }
    const wake = adaptive && clock.now() >= windowEnd ? config.verifyPollMs : config.verifyPollMs * 4;
    await sleepBefore(clock, Math.max(0, Math.min(wake, fixedEnd - clock.now())), answerBy, signal);
  }
}
