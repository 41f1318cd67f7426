import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { deltaEvidence } from './evidence';
import { proofReadTimes } from './read-schedule';
import { recordChange, type DrainRecord } from './record';
import { changeOn } from './take-out';
import { primedInTime, staleKeyHeld, verificationCutoff, verifyPause } from './timing';
import { sleepBefore, untilSignal } from './until';

/**
 * Step 3, one server: prove that its callers no longer get the instance as
 * UP. Until the server has accepted the override, keep sending it; then the
 * live view (`/apps/{APP}/{ID}`, not cached, small) must show the change;
 * then the delta the callers poll (`/apps/delta`) must show us out, read on
 * read-schedule.ts's schedule: just after the first tick that can hold the
 * change and, if that still offers us, once more after the next tick. The
 * proof is read on the callers' own key because another key being fresh
 * proves nothing about it: an invalidation that lands while the server
 * reloads a key is lost (google/guava#1881), and the delta then serves its
 * old value while the app's key shows the change (2 of 101 overrides in
 * test/e2e/eureka-cache-race.test.ts). The app's key is read only as the
 * prime (take-out.ts): a key nobody asked for is computed fresh on its first
 * read and would look verified too early, so a proof counts only if that
 * prime landed before the change could reach the server and did not already
 * show us out.
 *
 * Gives up after the second proof read (or one cache term plus slack after
 * the drain started while no PUT was accepted), never past the drain's
 * deadline (followed as it moves: a request or a pause in progress ends at
 * the new one); what is not proven by then counts at its worst case, a key
 * seen stale past the tick at its auto-expiry (timing.ts).
 *
 * The server's evidence goes into its own cell (`record.servers[index]`, read
 * live by /drain); returns the registration time the live view showed (a
 * newer one later means the app registered again: watch-app.ts).
 */
export async function verify(deps: DrainDeps, record: DrainRecord, index: number, signal: AbortSignal): Promise<number | undefined> {
  const { config, clock, eureka } = deps;
  const server = config.servers[index]!;
  const state = record.servers[index]!;
  const id = record.instanceId!;
  let registeredAt: number | undefined;
  /** The proof reads sent for the change that reached the server at `readsFor` (a PUT sent again here starts over). */
  let readsFor: number | undefined;
  let reads = 0;
  const cutoffTime = record.deadlines.time((d) => Math.min(d.answerBy, verificationCutoff(state.changedAt, record.startedAt, config.timings, config.verifyPollMs)));
  try {
    for (;;) {
      // After an abort nothing may send another PUT: the instance is being put back.
      if (signal.aborted) throw signal.reason;
      // Every request of this round ends at the cutoff, even on a hanging server.
      const round = untilSignal(clock, cutoffTime, signal, 'verification cutoff reached');
      try {
        // A PUT is never cancelled by an abort (take-out.ts): bounded by the cutoff only.
        if (state.put !== 'ok') {
          const putStage = untilSignal(clock, cutoffTime);
          recordChange(state, await changeOn(deps, id, index, record.inFlight, putStage.signal).finally(putStage.cancel));
        }
        if (state.put === 'ok' && state.liveVerifiedAt === undefined) {
          const live = await eureka.getInstance(server, config.appName, id, round.signal);
          if (live !== null) registeredAt = Math.max(registeredAt ?? 0, live.registrationTimestamp);
          const seen = deps.mode.live(live, config.appName, id);
          if (seen === 'out') state.liveVerifiedAt = clock.now();
          else if (seen === 'absent') state.put = 'not_found';
        }
        if (state.liveVerifiedAt !== undefined) {
          const changedAt = state.changedAt ?? state.liveVerifiedAt;
          if (readsFor !== changedAt) [readsFor, reads] = [changedAt, 0];
          const due = proofReadTimes(changedAt, config.timings.serverCacheMs);
          // A read that is late for its slot and the next covers both: it is sent after both ticks.
          while (reads < due.length - 1 && clock.now() >= due[reads + 1]!) reads++;
          if (reads < due.length && clock.now() >= due[reads]!) {
            reads++;
            const sentAt = clock.now();
            const seen = deltaEvidence((await eureka.getDelta(server, round.signal)).instances, config.appName, id);
            if (seen === 'out') {
              proven(deps, record, index, reads);
              return registeredAt;
            }
            state.lastStaleSeenAt = sentAt;
            if (staleKeyHeld(state, config.timings)) {
              state.error = "the callers' view still offered the instance after the tick that had to hold the change (a change lost to the cache race); counted until the key's auto-expiry";
            }
          }
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        state.error = round.expired() ? `no answer before the verification cutoff (${describeError(error)})` : describeError(error);
      } finally {
        round.cancel();
      }
      // Both proof reads sent and neither proved it: the worst case counts it from here (timing.ts serverSettledAt).
      if (state.liveVerifiedAt !== undefined && reads >= 2) return registeredAt;
      // The last pause ends at the cutoff, so a request just before it is still sent.
      const now = clock.now();
      const left = cutoffTime.at() - now;
      if (left <= 0) return registeredAt;
      const pause =
        state.liveVerifiedAt !== undefined && readsFor !== undefined
          ? proofReadTimes(readsFor, config.timings.serverCacheMs)[reads]! - now
          : verifyPause(config.verifyPollMs, config.timings.serverCacheMs);
      await sleepBefore(clock, Math.max(0, Math.min(pause, left)), cutoffTime, signal);
    }
  } finally {
    state.gaveUpAt = clock.now();
  }
}

/** The callers' view showed us out: whether it proves our change is the prime's to say (primedInTime, primedStale). */
function proven(deps: DrainDeps, record: DrainRecord, index: number, reads: number): void {
  const state = record.servers[index]!;
  state.cacheVerifiedAt = deps.clock.now();
  const inTime = primedInTime(state.primedAt, firstPutAt(record));
  state.trusted = inTime && state.primedStale !== true;
  if (state.trusted) delete state.error;
  else
    state.error = !inTime
      ? "the callers' view was primed too late to prove anything; counted at its worst case"
      : "the callers' view already showed the instance out before our change (an earlier drain, or the app's own DOWN); it proves nothing about our change; counted at its worst case";
  deps.logger.info(
    {
      server: deps.config.servers[index]!.label,
      liveMs: state.liveVerifiedAt! - record.startedAt,
      cacheMs: state.cacheVerifiedAt - record.startedAt,
      proofReads: reads,
      trusted: state.trusted,
    },
    'server verified: callers no longer get the instance as UP',
  );
}

function firstPutAt(record: DrainRecord): number | undefined {
  const times = record.servers.map((s) => s.putAt).filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}
