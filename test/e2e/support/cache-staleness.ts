/**
 * Pure: how long each of Eureka's cached views kept serving a state from before a change, measured from the
 * answers of readers that polled them while the changes were made (test/e2e/eureka-cache-race.test.ts).
 *
 * A change is one instance taken OUT_OF_SERVICE; an answer is fresh for it when it lists that instance as
 * OUT_OF_SERVICE. Only answers to requests sent after the change was applied (its PUT answered: the server
 * invalidates its caches before it answers) count for it, and only within `windowMs` (the delta drops an
 * instance 3 minutes after its last change, which would look stale).
 */

export const CACHED_VIEWS = ['delta', 'full', 'app'] as const;
export type CachedView = (typeof CACHED_VIEWS)[number];

export interface ViewAnswer {
  readonly view: CachedView;
  readonly sentAt: number;
  readonly receivedAt: number;
  /** The instance ids (of the changed ones) this answer lists as OUT_OF_SERVICE. */
  readonly out: ReadonlySet<string>;
}

export interface OverrideChange {
  readonly id: string;
  /** When the PUT was answered. */
  readonly appliedAt: number;
}

export interface StalenessBounds {
  /** An answer stale later than this after the change was read past the next response-cache tick. */
  readonly pastTickMs: number;
  /** After the next change (its invalidation) plus this, every view must show the change. */
  readonly recoverMs: number;
  readonly windowMs: number;
}

export interface ViewStaleness {
  readonly answers: number;
  /** Stale answers to requests sent more than `pastTickMs` after the change. */
  readonly stalePastTick: number;
  /** The changes that had at least one such answer. */
  readonly changesStalePastTick: number;
  /** Per change, from its application to the first fresh answer; the largest. */
  readonly worstMs: number;
  /** Stale answers to requests sent after a fresh answer had been received (must be 0: the view never goes back). */
  readonly regressions: number;
  /** Stale answers to requests sent `recoverMs` after the next change (must be 0: an invalidation ends it). */
  readonly staleAfterNextChange: number;
  /** How many answers that rule was checked on (a check on no answer proves nothing). */
  readonly checkedAfterNextChange: number;
  /** Changes no answer in the window showed. */
  readonly neverFresh: number;
}

export interface StalenessReport {
  readonly views: Readonly<Record<CachedView, ViewStaleness>>;
  /** Changes for which a delta answer was stale although sent after an app-view answer had shown the change. */
  readonly appFreshDeltaStale: number;
  /** The longest such gap: from the first fresh app answer to the last stale delta answer's send. */
  readonly appFreshDeltaStaleWorstMs: number;
  /** Changes for which a full-registry answer (`/apps/`) was stale although sent after both the app view and the delta had shown the change. */
  readonly appAndDeltaFreshFullStale: number;
  /** The longest such gap: from the later of the two first fresh answers to the last stale full answer's send. */
  readonly appAndDeltaFreshFullStaleWorstMs: number;
}

export function measureStaleness(changes: readonly OverrideChange[], answers: readonly ViewAnswer[], bounds: StalenessBounds): StalenessReport {
  const sorted = [...changes].sort((a, b) => a.appliedAt - b.appliedAt);
  const byView = new Map<CachedView, ViewAnswer[]>(CACHED_VIEWS.map((v) => [v, answers.filter((a) => a.view === v).sort((a, b) => a.sentAt - b.sentAt)]));
  const firstFresh = new Map<string, number>();
  const views = {} as Record<CachedView, ViewStaleness>;
  for (const view of CACHED_VIEWS) {
    const list = byView.get(view)!;
    const counts = { answers: list.length, stalePastTick: 0, changesStalePastTick: 0, worstMs: 0, regressions: 0, staleAfterNextChange: 0, checkedAfterNextChange: 0, neverFresh: 0 };
    sorted.forEach((change, i) => {
      const next = sorted[i + 1];
      const relevant = list.filter((a) => a.sentAt >= change.appliedAt && a.sentAt <= change.appliedAt + bounds.windowMs);
      const fresh = relevant.find((a) => a.out.has(change.id));
      if (fresh === undefined) counts.neverFresh++;
      else {
        counts.worstMs = Math.max(counts.worstMs, fresh.receivedAt - change.appliedAt);
        firstFresh.set(`${view} ${change.id}`, fresh.receivedAt);
      }
      let pastTick = 0;
      for (const a of relevant) {
        const stale = !a.out.has(change.id);
        if (stale && a.sentAt > change.appliedAt + bounds.pastTickMs) pastTick++;
        if (stale && fresh !== undefined && a.sentAt > fresh.receivedAt) counts.regressions++;
        if (next !== undefined && a.sentAt > next.appliedAt + bounds.recoverMs) {
          counts.checkedAfterNextChange++;
          if (stale) counts.staleAfterNextChange++;
        }
      }
      counts.stalePastTick += pastTick;
      if (pastTick > 0) counts.changesStalePastTick++;
    });
    views[view] = counts;
  }
  /** How many changes one view still served stale after others had shown them, and the longest such gap. */
  const staleAfterFresh = (fresh: readonly CachedView[], stale: CachedView): { count: number; worstMs: number } => {
    let count = 0;
    let worstMs = 0;
    for (const change of sorted) {
      const times = fresh.map((v) => firstFresh.get(`${v} ${change.id}`));
      if (times.some((t) => t === undefined)) continue;
      const freshAt = Math.max(...(times as number[]));
      const staleAnswers = byView.get(stale)!.filter((a) => a.sentAt > freshAt && a.sentAt <= change.appliedAt + bounds.windowMs && !a.out.has(change.id));
      if (staleAnswers.length === 0) continue;
      count++;
      worstMs = Math.max(worstMs, staleAnswers[staleAnswers.length - 1]!.sentAt - freshAt);
    }
    return { count, worstMs };
  };
  const delta = staleAfterFresh(['app'], 'delta');
  const full = staleAfterFresh(['app', 'delta'], 'full');
  return {
    views,
    appFreshDeltaStale: delta.count,
    appFreshDeltaStaleWorstMs: delta.worstMs,
    appAndDeltaFreshFullStale: full.count,
    appAndDeltaFreshFullStaleWorstMs: full.worstMs,
  };
}
