import type { Timings } from '../config';
import type { DrainDeps } from './deps';
import type { ServerState } from './record';
import { clientWindowEnd } from './timing';
import { sleepBefore, type MovingTime } from './until';

/** Pure: when callers may last have selected the instance, from the servers' evidence so far. */
export function windowEndOf(servers: readonly ServerState[], startedAt: number, timings: Timings): number {
  const fallback = Math.max(startedAt, ...servers.map((s) => s.gaveUpAt ?? startedAt));
  return clientWindowEnd(servers, fallback, timings);
}

/** How the wait for the client window ended. */
export type WindowWait = 'elapsed' | 'deadline';

/**
 * Step 4: wait until every caller has let go: the servers settled, then one
 * registry fetch and one load-balancer refresh. `windowEnd` is asked again on
 * every poll because keep-out.ts may move it (a restored override).
 * Ends at `answerBy` at the latest, also when Kubernetes moves it earlier
 * during a pause between two polls; returns whether the deadline cut it.
 */
export async function waitClients(deps: DrainDeps, windowEnd: () => number, answerBy: MovingTime, signal: AbortSignal): Promise<WindowWait> {
  const { clock, config } = deps;
  for (;;) {
    const end = windowEnd();
    const now = clock.now();
    if (now >= end) return 'elapsed';
    if (now >= answerBy.at()) return 'deadline';
    await sleepBefore(clock, Math.min(config.verifyPollMs * 4, end - now), answerBy, signal);
  }
}
