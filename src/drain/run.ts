import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { DrainAborted } from './deps';
import { keepOut } from './keep-out';
import { locate } from './locate';
import type { ProgressEvent } from './machine';
import { recordChange, recordEvidence, recordRestore, type DrainRecord } from './record';
import { takeOut } from './take-out';
import { isVerified, serverSettledAt, verificationCutoff } from './timing';
import { tellApp } from './tell-app';
import { verify } from './verify';
import { waitClients, windowEndOf } from './wait-clients';
import { waitTail } from './wait-tail';

/**
 * The drain, top to bottom. Each step is a function in its own file that
 * takes the deps, what it needs and a signal, and returns what it found;
 * none calls another or holds state. This function writes each result into
 * the record as it arrives, so /drain and the metrics see the drain's
 * progress, the per-server results (each change's answer, each
 * piece of verify's evidence, each restore) into their server's own cell.
 * `step` tells the lifecycle (machine.ts) where the drain is.
 * An abort (the signal, with DrainAborted) ends the waits; in-flight PUTs are
 * let land and the instance is put back before this returns 'aborted'.
 * Every bound is read from the record's live deadlines (live-deadlines.ts),
 * never copied at the start: a grace end learnt mid-step cuts that step.
 * Never throws: a bug must not cost /prestop its answer ('failed': the record
 * says what is known, never better than it was).
 */
export async function runDrain(deps: DrainDeps, record: DrainRecord, signal: AbortSignal, step: ProgressStep): Promise<DrainEnd> {
  try {
    try {
      await runSteps(deps, record, signal, step);
      return 'answered';
    } catch (error) {
      if (!(signal.aborted && signal.reason instanceof DrainAborted)) throw error;
    }
    record.aborted = true;
    await putBackAfterAbort(deps, record);
    return 'aborted';
  } catch (error) {
    record.cutShort = true;
    record.problems.push(`internal error: ${describeError(error)}`);
    deps.logger.error({ err: error }, 'drain failed unexpectedly; answering with what is known');
    return 'failed';
  }
}

/** How runDrain ended: the app was told (answered), the instance put back after an abort, or a bug stopped it. */
export type DrainEnd = 'answered' | 'aborted' | 'failed';

/** Tells the lifecycle where the drain is. */
export type ProgressStep = (event: ProgressEvent, fields?: Record<string, unknown>) => void;

async function runSteps(deps: DrainDeps, record: DrainRecord, signal: AbortSignal, step: ProgressStep): Promise<void> {
  const { clock, config, metrics } = deps;
  const { startedAt, deadlines } = record;
  // Taking out is always tried, even when no wait fits (a 3 s grace period): deadlines.ts takeOutBy.
  const takeOutBy = deadlines.time((d) => d.takeOutBy);
  const locateCutoff = verificationCutoff(undefined, startedAt, config.timings, config.verifyPollMs);
  const located = await locate(deps, deadlines.time((d) => Math.min(locateCutoff, d.takeOutBy)), signal);
  record.instanceId = located.instanceId;
  located.servers.forEach((found, i) => {
    const state = record.servers[i]!;
    if (found.error !== undefined) state.error = found.error;
  });
  if (located.problem !== undefined) record.problems.push(located.problem);

  if (record.instanceId === undefined) step('not_located');
  else {
    step('located', { instanceId: record.instanceId, mode: deps.mode.name });
    await deps.mode.begin(deps, record);
    const id = record.instanceId;
    let attempted = 0;
    await Promise.all(
      config.servers.map(async (_server, i) => {
        recordChange(record.servers[i]!, await takeOut(deps, id, i, takeOutBy, record.inFlight));
        if (++attempted === config.servers.length) step('taken_out', { servers: record.servers.map((s) => ({ server: s.server, put: s.put })) });
        const state = record.servers[i]!;
        const { registeredAt } = await verify(
          deps,
          {
            instanceId: id,
            index: i,
            startedAt,
            deadlines,
            inFlight: record.inFlight,
            taken: { put: state.put, putAt: state.putAt, changedAt: state.changedAt },
          },
          signal,
          (piece) => recordEvidence(state, piece),
        );
        if (registeredAt !== undefined) record.registeredAt = Math.max(record.registeredAt ?? 0, registeredAt);
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

  // The window's end by the evidence so far, asked again on every poll (keep-out may move it) and recorded for /drain.
  const windowEnd = (): number => (record.windowEnd = windowEndOf(record.servers, startedAt, config.timings));
  const watch = new AbortController();
  const watching =
    record.instanceId === undefined
      ? Promise.resolve([])
      : keepOut(
          deps,
          { instanceId: record.instanceId, tookChange: record.servers.map((s) => s.changedAt !== undefined), answerBy: deadlines.time((d) => d.answerBy), inFlight: record.inFlight },
          AbortSignal.any([watch.signal, signal]),
          (i, answer) => recordRestore(record.servers[i]!, answer),
        );
  try {
    if ((await waitClients(deps, windowEnd, deadlines.time((d) => d.answerBy), signal)) === 'deadline') record.cutShort = true;
    record.windowWaitedUntil = clock.now();
    step('window_elapsed', { clientWindowEndsAt: new Date(record.windowEnd ?? clock.now()).toISOString() });
    const tail = await waitTail(deps, windowEnd, deadlines, signal);
    if (tail.problem !== undefined) record.problems.push(tail.problem);
    record.tailEnd = tail.end;
    if (record.tailEnd === 'deadline' || (record.windowEnd ?? 0) > deadlines.current().answerBy) {
      record.tailEnd = 'deadline';
      record.cutShort = true;
    }
    record.tailEndedAt = clock.now();
    step('tail_elapsed', { tailEndedBy: record.tailEnd });
  } finally {
    watch.abort();
    record.problems.push(...(await watching));
  }
  for (const s of record.servers) s.settledAt = serverSettledAt(s, s.gaveUpAt ?? gaveUp, config.timings);

  const told = await tellApp(deps, deadlines);
  record.appExit = told.result;
  if (told.cutShort) record.cutShort = true;
  if (!told.result.ok) record.problems.push(`app exit (${told.result.strategy}): ${told.result.detail}`);
  step('app_told', { appExit: record.appExit.strategy, ok: record.appExit.ok, detail: record.appExit.detail });
}

/**
 * After an abort: a PUT the server may still apply must land before we take
 * it back; a hanging one gets as long as a PUT's own retries, and if it lands
 * later still, the override is removed once more.
 */
async function putBackAfterAbort(deps: DrainDeps, record: DrainRecord): Promise<void> {
  const { clock, config } = deps;
  if (record.instanceId === undefined) return;
  const pending = Promise.allSettled([...record.inFlight]);
  const giveUp = new AbortController();
  await Promise.race([pending, clock.sleep(config.eurekaTimeoutMs * (config.eurekaRetries + 1), giveUp.signal).catch(() => undefined)]);
  giveUp.abort();
  const late = record.inFlight.size > 0;
  record.problems.push(...(await deps.mode.putBack(deps, record)));
  if (late) void pending.then(() => deps.mode.putBack(deps, record)).then((failures) => failures.forEach((f) => deps.logger.warn({ reason: f }, 'after a late PUT landed')));
}
