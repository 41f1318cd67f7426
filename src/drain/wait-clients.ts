import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';
import { clientWindowEnd } from './timing';
import { sleepBefore } from './until';

/** Pure over the record: when callers may last have selected the instance, from the evidence so far. */
export function windowEndOf(deps: DrainDeps, record: DrainRecord): number {
  const fallback = Math.max(record.startedAt, ...record.servers.map((s) => s.gaveUpAt ?? record.startedAt));
  return clientWindowEnd(record.servers, fallback, deps.config.timings);
}

/**
 * Step 4: wait until every caller has let go: the servers settled, then one
 * registry fetch and one load-balancer refresh. The end is read again on
 * every poll because keep-out.ts may move it (a restored override).
 * Ends at the drain's deadline at the latest, also when Kubernetes moves it
 * earlier during a pause between two polls; says whether the deadline cut it.
 */
export async function waitClients(deps: DrainDeps, record: DrainRecord, signal: AbortSignal): Promise<'elapsed' | 'deadline'> {
  const { clock, config } = deps;
  const answerBy = record.deadlines.time((d) => d.answerBy);
  for (;;) {
    const end = windowEndOf(deps, record);
    record.windowEnd = end;
    const now = clock.now();
    if (now >= end) return 'elapsed';
    if (now >= answerBy.at()) return 'deadline';
    await sleepBefore(clock, Math.min(config.verifyPollMs * 4, end - now), answerBy, signal);
  }
}
