import type { CallerFetch, EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { deltaEvidence, fullEvidence, type Evidence } from './evidence';
import type { LiveDeadlines } from './live-deadlines';
import { proofReadTimes } from './read-schedule';
import { changeEvidence, type ServerEvidencePiece, type ServerState } from './record';
import { changeOn } from './take-out';
import { staleKeyHeld, verificationCutoff, verifyPause } from './timing';
import { sleepBefore, untilSignal } from './until';

/** What verify needs of the drain so far, for one server. */
export interface VerifyInput {
  readonly instanceId: string;
  /** The server's index in the config. */
  readonly index: number;
  readonly startedAt: number;
  /** Nothing runs past the drain's deadline, followed as it moves. */
  readonly deadlines: LiveDeadlines;
  /** Where a PUT sent again is registered, so an abort waits for it to land. */
  readonly inFlight: Set<Promise<unknown>>;
  /** The server's answer to take-out's change. */
  readonly taken: Pick<ServerState, 'put' | 'putAt' | 'changedAt'>;
}

/** What verify found on one server: every piece it reported, merged (record.ts recordEvidence), and the registration time the live view showed. */
export interface Verified {
  readonly evidence: ServerEvidencePiece;
  readonly registeredAt: number | undefined;
}

/**
 * Step 3, one server: prove that its callers no longer get the instance as
 * UP. Until the server has accepted the override, keep sending it; then the
 * live view (`/apps/{APP}/{ID}`, not cached, small) must show the change;
 * then the delta the callers poll (`/apps/delta`) must show us out, read on
 * read-schedule.ts's schedule: with a long cache interval half an interval
 * after the change, then just after the first tick that must hold the change
 * and, if that still offers us, once more after the next tick. The
 * proof is read on the callers' own key because another key being fresh
 * proves nothing about it: an invalidation that lands while the server
 * reloads a key is lost (google/guava#1881), and the delta then serves its
 * old value while the app's key shows the change (2 of 101 overrides in
 * test/e2e/eureka-cache-race.test.ts).
 *
 * Nothing needs reading before the change for the proof to count. Callers
 * read the key from the server's read-only cache, which only a tick changes,
 * and a tick copies a value loaded from the registry, so the key never shows
 * the instance offered again once it has shown our change (the cache-race
 * test counts 0 such answers in its run). A key nobody had read is computed
 * on our read, from the registry that holds the change, and no caller held an
 * older copy of it; a key that already showed us out before the change
 * (the app's own DOWN, an earlier drain) had callers let go already. The same
 * test checks the claim itself: no answer its readers got after a proof's
 * settle time (timing.ts serverSettledAt) offered the instance.
 *
 * Gives up after the last proof read (or one cache term plus slack after
 * the drain started while no PUT was accepted), never past the drain's
 * deadline (followed as it moves: a request or a pause in progress ends at
 * the new one); what is not proven by then counts at its worst case, a key
 * seen stale past the tick at its auto-expiry (timing.ts).
 *
 * Each piece of the server's evidence is reported through `found` as it
 * arrives (run.ts writes it into the server's cell, read live by /drain);
 * returns all of it, and the registration time the live view showed (a newer
 * one later means the app registered again: watch-app.ts).
 */
export async function verify(deps: DrainDeps, input: VerifyInput, signal: AbortSignal, found: (piece: ServerEvidencePiece) => void): Promise<Verified> {
  const { config, clock, eureka } = deps;
  const { instanceId: id, index, startedAt } = input;
  const server = config.servers[index]!;
  /** What verify knows of the server: take-out's answer, then every piece found since. */
  const known: ServerEvidencePiece = { ...input.taken };
  const evidence: ServerEvidencePiece = {};
  const report = (piece: ServerEvidencePiece): void => {
    Object.assign(known, piece);
    Object.assign(evidence, piece);
    found(piece);
  };
  let registeredAt: number | undefined;
  /** The proof reads' times for the change that reached the server at `changedAt` (set once the live view showed it; a PUT sent again here starts over), how many were sent, and the views they have not shown us out on yet. */
  let schedule: { readonly changedAt: number; readonly due: readonly number[] } | undefined;
  let reads = 0;
  let unproven: readonly CallersView[] = [];
  const cutoffTime = input.deadlines.time((d) => Math.min(d.answerBy, verificationCutoff(known.changedAt, startedAt, config.timings, config.verifyPollMs)));
  try {
    for (;;) {
      // After an abort nothing may send another PUT: the instance is being put back.
      if (signal.aborted) throw signal.reason;
      // Every request of this round ends at the cutoff, even on a hanging server.
      const round = untilSignal(clock, cutoffTime, signal, 'verification cutoff reached');
      try {
        // A PUT is never cancelled by an abort (take-out.ts): bounded by the cutoff only.
        if (known.put !== 'ok') {
          const putStage = untilSignal(clock, cutoffTime);
          const answer = await changeOn(deps, id, index, input.inFlight, putStage.signal).finally(putStage.cancel);
          // A PUT the cutoff cut short says nothing new: a server that said the instance is not there keeps saying so.
          if (!(answer.put === 'failed' && putStage.expired() && known.put === 'not_found')) report(changeEvidence(answer, known.putAt));
        }
        if (known.put === 'ok' && known.liveVerifiedAt === undefined) {
          const live = await eureka.getInstance(server, config.appName, id, round.signal);
          if (live !== null) registeredAt = Math.max(registeredAt ?? 0, live.registrationTimestamp);
          const seen = deps.mode.live(live, config.appName, id);
          if (seen === 'out') report({ liveVerifiedAt: clock.now() });
          else if (seen === 'absent') report({ put: 'not_found' });
        }
        if (known.liveVerifiedAt !== undefined) {
          const changedAt = known.changedAt ?? known.liveVerifiedAt;
          if (schedule?.changedAt !== changedAt) [schedule, reads, unproven] = [{ changedAt, due: proofReadTimes(changedAt, config.timings.serverCacheMs) }, 0, PROOF_VIEWS[config.callerFetch]];
          const { due } = schedule;
          // A read that is late for its slot and the next covers both: it is sent after both ticks.
          while (reads < due.length - 1 && clock.now() >= due[reads + 1]!) reads++;
          if (reads < due.length && clock.now() >= due[reads]!) {
            reads++;
            const sentAt = clock.now();
            const read = await readViews(deps, server, id, unproven, round.signal);
            // A view whose read failed is read again next time; only one seen offering the instance is a sighting.
            unproven = [...read.offered, ...read.unread];
            if (unproven.length === 0) {
              report(proven(deps, input, known.liveVerifiedAt, reads));
              return { evidence, registeredAt };
            }
            if (read.offered.length > 0) {
              report({ lastStaleSeenAt: sentAt });
              if (staleKeyHeld(known, config.timings)) {
                report({ error: `${read.offered.map((v) => VIEW_NAMES[v]).join(' and ')} still offered the instance after the tick that had to hold the change (a change lost to the cache race); counted until the key's auto-expiry` });
              }
            }
            if (read.failure !== undefined) throw read.failure;
          }
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        report({ error: round.expired() ? `no answer before the verification cutoff (${describeError(error)})` : describeError(error) });
      } finally {
        round.cancel();
      }
      // Every proof read sent and none proved it: the worst case counts it from here (timing.ts serverSettledAt).
      if (schedule !== undefined && reads >= schedule.due.length) return { evidence, registeredAt };
      // The last pause ends at the cutoff, so a request just before it is still sent.
      const now = clock.now();
      const left = cutoffTime.at() - now;
      if (left <= 0) return { evidence, registeredAt };
      const pause = schedule !== undefined ? schedule.due[reads]! - now : verifyPause(config.verifyPollMs, config.timings.serverCacheMs);
      await sleepBefore(clock, Math.max(0, Math.min(pause, left)), cutoffTime, signal);
    }
  } finally {
    report({ gaveUpAt: clock.now() });
  }
}

/** A view callers fetch: the delta (`/apps/delta`) or the full registry (`/apps/`). */
type CallersView = 'delta' | 'full';

/** The views a proof is read on, by what the callers fetch (DRAINER_CALLER_FETCH): each is its own cache key (verify's comment). */
const PROOF_VIEWS: Readonly<Record<CallerFetch, readonly CallersView[]>> = { delta: ['delta'], full: ['full'], both: ['delta', 'full'] };

const VIEW_NAMES: Readonly<Record<CallersView, string>> = { delta: "the callers' delta (/apps/delta)", full: 'the full registry (/apps/)' };

/** What one server's view says of our instance, read now. */
const READ_VIEW: Readonly<Record<CallersView, (deps: DrainDeps, server: EurekaServerConfig, id: string, signal: AbortSignal) => Promise<Evidence>>> = {
  delta: async ({ eureka, config }, server, id, signal) => deltaEvidence((await eureka.getDelta(server, signal)).instances, config.appName, id),
  full: async ({ eureka, config }, server, id, signal) => fullEvidence((await eureka.getApplications(server, signal)).instances, config.appName, id),
};

/** What one proof read found: the views seen still offering the instance, those that could not be read, and why. */
interface ViewsRead {
  readonly offered: CallersView[];
  readonly unread: CallersView[];
  /** The first failure, if any view could not be read. */
  readonly failure?: Error;
}

/** One proof read: every view not yet shown us out, at once. */
async function readViews(deps: DrainDeps, server: EurekaServerConfig, id: string, views: readonly CallersView[], signal: AbortSignal): Promise<ViewsRead> {
  const results = await Promise.allSettled(views.map((view) => READ_VIEW[view](deps, server, id, signal)));
  const offered = views.filter((_view, i) => {
    const result = results[i]!;
    return result.status === 'fulfilled' && result.value === 'offered';
  });
  const unread = views.filter((_view, i) => results[i]!.status === 'rejected');
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected === undefined) return { offered, unread };
  const reason: unknown = rejected.reason;
  return { offered, unread, failure: reason instanceof Error ? reason : new Error(String(reason)) };
}

/** The callers' views showed us out: the proof, logged once per server. */
function proven(deps: DrainDeps, input: VerifyInput, liveVerifiedAt: number, reads: number): ServerEvidencePiece {
  const cacheVerifiedAt = deps.clock.now();
  deps.logger.info(
    {
      server: deps.config.servers[input.index]!.label,
      liveMs: liveVerifiedAt - input.startedAt,
      cacheMs: cacheVerifiedAt - input.startedAt,
      proofReads: reads,
    },
    'server verified: callers no longer get the instance as UP',
  );
  return { cacheVerifiedAt, error: undefined };
}
