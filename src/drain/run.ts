import type { DrainDeps } from './deps';
import { DrainAborted } from './deps';
import { keepOut } from './keep-out';
import { locate, notFound } from './locate';
import type { ProgressEvent } from './machine';
import type { DrainRecord } from './record';
import { primeViews, takeOut } from './take-out';
import { isVerified, serverSettledAt, verificationCutoff } from './timing';
import { tellApp } from './tell-app';
import { untilSignal } from './until';
import { verify } from './verify';
import { waitClients } from './wait-clients';
import { waitTail } from './wait-tail';

/**
 * The drain, top to bottom. Each step is a function in its own file that
 * takes the deps, this drain's record and a signal; none calls another or
 * holds state. `step` tells the lifecycle (machine.ts) where the drain is.
 * An abort (the signal, with DrainAborted) ends the waits; in-flight PUTs are
 * let land and the instance is put back before this returns.
 * Every bound is read from the record's live deadlines (live-deadlines.ts),
 * never copied at the start: a grace end learnt mid-step cuts that step.
 */
export async function runDrain(deps: DrainDeps, record: DrainRecord, signal: AbortSignal, step: (event: ProgressEvent, fields?: Record<string, unknown>) => void): Promise<void> {
  const { clock, config, metrics } = deps;
  const { startedAt, deadlines } = record;
  try {
    // Taking out is always tried, even when no wait fits (a 3 s grace period): deadlines.ts takeOutBy.
    const takeOutBy = deadlines.time((d) => d.takeOutBy);
    const locateCutoff = verificationCutoff(undefined, startedAt, config.timings, config.verifyPollMs);
    const locateBy = deadlines.time((d) => Math.min(locateCutoff, d.takeOutBy));
    const located = untilSignal(clock, locateBy, signal, 'verification cutoff reached');
    record.instanceId = await locate(deps, record, locateBy, located.signal)
      .catch((error: unknown) => {
        if (signal.aborted || !located.expired()) throw error;
        return notFound(deps, record, 'eureka did not answer before the verification cutoff');
      })
      .finally(located.cancel);

    if (record.instanceId === undefined) step('not_located');
    else {
      step('located', { instanceId: record.instanceId, mode: deps.mode.name });
      await deps.mode.begin(deps, record);
      let attempted = 0;
      const primed = primeViews(deps, record, takeOutBy);
      await Promise.all(
        config.servers.map(async (_server, i) => {
          await takeOut(deps, record, i, takeOutBy, primed);
          if (++attempted === config.servers.length) step('taken_out', { servers: record.servers.map((s) => ({ server: s.server, put: s.put })) });
          await verify(deps, record, i, signal);
        }),
      );
    }
    if (signal.aborted) throw signal.reason;
    const gaveUp = clock.now();
    for (const s of record.servers) {
      s.settledAt = serverSettledAt(s, s.gaveUpAt ?? gaveUp, config.timings);
      if (isVerified(s) && s.cacheVerifiedAt !== undefined) metrics.serverVerified(s.server, (s.cacheVerifiedAt - (s.changedAt ?? startedAt)) / 1000);
      else if (record.instanceId !== undefined) record.problems.push(`${s.server}: not verified (${s.error ?? 'still offered to callers'}); counted at its worst case`);
    }
    step('verified', { verified: record.servers.filter(isVerified).length, of: record.servers.length });

    const watch = new AbortController();
    const watching = keepOut(deps, record, AbortSignal.any([watch.signal, signal]));
    try {
      if ((await waitClients(deps, record, signal)) === 'deadline') record.cutShort = true;
      record.windowWaitedUntil = clock.now();
      step('window_elapsed', { clientWindowEndsAt: new Date(record.windowEnd ?? clock.now()).toISOString() });
      record.tailEnd = await waitTail(deps, record, signal);
      if (record.tailEnd === 'deadline' || (record.windowEnd ?? 0) > deadlines.current().answerBy) {
        record.tailEnd = 'deadline';
        record.cutShort = true;
      }
      record.tailEndedAt = clock.now();
      step('tail_elapsed', { tailEndedBy: record.tailEnd });
    } finally {
      watch.abort();
      await watching;
    }
    for (const s of record.servers) s.settledAt = serverSettledAt(s, s.gaveUpAt ?? gaveUp, config.timings);

    record.appExit = await tellApp(deps, record);
    step('app_told', { appExit: record.appExit.strategy, ok: record.appExit.ok, detail: record.appExit.detail });
  } catch (error) {
    if (!(signal.aborted && signal.reason instanceof DrainAborted)) throw error;
    record.aborted = true;
    const id = record.instanceId;
    if (id === undefined) return;
    // A PUT the server may still apply must land before we take it back; a
    // hanging one gets as long as a PUT's own retries, and if it lands later
    // still, the override is removed once more.
    const pending = Promise.allSettled([...record.inFlight]);
    const giveUp = new AbortController();
    await Promise.race([pending, clock.sleep(config.eurekaTimeoutMs * (config.eurekaRetries + 1), giveUp.signal).catch(() => undefined)]);
    giveUp.abort();
    const late = record.inFlight.size > 0;
    record.problems.push(...(await deps.mode.putBack(deps, record)));
    if (late) void pending.then(() => deps.mode.putBack(deps, record)).then((failures) => failures.forEach((f) => deps.logger.warn({ reason: f }, 'after a late PUT landed')));
  }
}
