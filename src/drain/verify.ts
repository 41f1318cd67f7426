import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { deltaEvidence } from './evidence';
import { recordChange, type DrainRecord } from './record';
import { changeOn } from './take-out';
import { primedInTime, verificationCutoff, verifyPause } from './timing';
import { sleepBefore, untilSignal } from './until';

/**
 * Step 3, one server: prove that its callers no longer get the instance as
 * UP. Until the server has accepted the override, keep sending it; then the
 * live view must show the change, then the app's cached view (`/apps/{APP}`,
 * refreshed on the same tick as the delta callers poll, but sized by the app,
 * not the fleet: evidence.ts) must show us out. A cache key nobody asked for is computed fresh on its
 * first read and would look verified too early, which is why take-out primed
 * it: a proof counts only if that prime landed before the change could reach
 * the server and did not already show us out.
 *
 * Polls until one cache term (plus slack) after the change reached the
 * server, never past the drain's deadline (followed as it moves: a request or
 * a pause in progress ends at the new one); what is not proven by then counts
 * at its worst case (timing.ts).
 *
 * The server's evidence goes into its own cell (`record.servers[index]`, read
 * live by /drain); returns the registration time the live view showed (a
 * newer one later means the app registered again: watch-app.ts).
 */
export async function verify(deps: DrainDeps, record: DrainRecord, index: number, signal: AbortSignal): Promise<number | undefined> {
  const { config, clock, eureka, logger } = deps;
  const server = config.servers[index]!;
  const state = record.servers[index]!;
  const id = record.instanceId!;
  let registeredAt: number | undefined;
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
        // The callers' view is read in the same round as the live proof: under load the two reads take long enough
        // that a tick often fell between them. Skipping it saved a request per server but, in the fleet bench,
        // left a server unproven by the cutoff twice as often at N = 100/200 (bench/README, "Fleet benchmark").
        if (state.liveVerifiedAt !== undefined) {
          const instances = await eureka.getApplication(server, config.appName, round.signal);
          let seen = deps.mode.cached(instances, config.appName, id);
          // The app's key can be fresh while the delta the callers poll is not: an invalidation that lands while the
          // server reloads the delta is lost (google/guava#1881), and the delta serves its old value until the next
          // change (2 of 101 overrides in test/e2e/eureka-cache-race.test.ts). So the proof ends on the callers' key.
          if (seen === 'out') seen = deltaEvidence((await eureka.getDelta(server, round.signal)).instances, config.appName, id);
          if (seen === 'out') {
            state.cacheVerifiedAt = clock.now();
            const inTime = primedInTime(state.primedAt, firstPutAt(record));
            state.trusted = inTime && state.primedStale !== true;
            if (state.trusted) delete state.error;
            else
              state.error = !inTime
                ? "the callers' view was primed too late to prove anything; counted at its worst case"
                : "the callers' view already showed the instance out before our change (an earlier drain, or the app's own DOWN); it proves nothing about our change; counted at its worst case";
            logger.info(
              { server: server.label, liveMs: state.liveVerifiedAt - record.startedAt, cacheMs: state.cacheVerifiedAt - record.startedAt, trusted: state.trusted },
              'server verified: callers no longer get the instance as UP',
            );
            return registeredAt;
          }
          if (seen === 'offered') state.lastStaleSeenAt = clock.now();
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        state.error = round.expired() ? `no answer before the verification cutoff (${describeError(error)})` : describeError(error);
      } finally {
        round.cancel();
      }
      // The last pause ends at the cutoff, so a flip just before it is still read.
      const left = cutoffTime.at() - clock.now();
      if (left <= 0) return registeredAt;
      await sleepBefore(clock, Math.min(verifyPause(config.verifyPollMs, config.timings.serverCacheMs), left), cutoffTime, signal);
    }
  } finally {
    state.gaveUpAt = clock.now();
  }
}

function firstPutAt(record: DrainRecord): number | undefined {
  const times = record.servers.map((s) => s.putAt).filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}
