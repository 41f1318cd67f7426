import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';
import { clientWindowEnd } from './timing';

/** Pure over the record: when callers may last have selected the instance, from the evidence so far. */
export function windowEndOf(deps: DrainDeps, record: DrainRecord): number {
  const fallback = Math.max(record.startedAt, ...record.servers.map((s) => s.gaveUpAt ?? record.startedAt));
  return clientWindowEnd(record.servers, fallback, deps.config.timings);
}

/**
 * Step 4: wait until every caller has let go: the servers settled, then one
 * registry fetch and one load-balancer refresh. The end is read again on
 * every poll because keep-out.ts may move it (a restored override).
 * Ends at the record's deadline at the latest (read every poll: Kubernetes may
 * shorten it); says whether the deadline cut it.
 */
export async function waitClients(deps: DrainDeps, record: DrainRecord, signal: AbortSignal): Promise<'elapsed' | 'deadline'> {
  const { clock, config } = deps;
  for (;;) {
    const deadline = record.deadline;
    const end = windowEndOf(deps, record);
    record.windowEnd = end;
    const now = clock.now();
    if (now >= end) return 'elapsed';
    if (now >= deadline) return 'deadline';
    await clock.sleep(Math.min(config.verifyPollMs * 4, end - now, Math.max(0, deadline - now)), signal);
  }
}
