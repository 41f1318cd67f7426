import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';
import { PRIME_TOLERANCE_MS } from './timing';
import { untilSignal } from './until';

/**
 * Step 2, one server: take the instance out of it (the mode's change: the
 * OUT_OF_SERVICE override in companion mode, a cancel in owner mode). Taking out never
 * waits on evidence: the prime read of the callers' view (which only makes a
 * later proof trustworthy, see verify.ts) gets at most PRIME_TOLERANCE_MS of
 * a head start, then the change goes out whether the read answered or not.
 * The change runs under `until` only, never under the abort signal: an abort
 * waits for it to land instead of leaving a request the server may still apply.
 */
export async function takeOut(deps: DrainDeps, record: DrainRecord, index: number, until: number): Promise<void> {
  const { config, clock, eureka } = deps;
  const server = config.servers[index]!;
  const state = record.servers[index]!;
  const id = record.instanceId!;
  const stage = untilSignal(clock, until);
  // locate.ts may already have read this server's view, offering us, before any change went out: that is the prime.
  if (state.primedAt === undefined) {
    const prime = eureka.getApplication(server, config.appName, stage.signal).then(
      (instances) => {
        state.primedAt = clock.now();
        state.primedStale = deps.mode.cached(instances, config.appName, id) === 'out';
      },
      (error: unknown) => {
        state.error = `cannot read the callers' view: ${describeError(error)}`;
      },
    );
    const headStart = new AbortController();
    await Promise.race([prime, clock.sleep(PRIME_TOLERANCE_MS, headStart.signal).catch(() => undefined)]);
    headStart.abort();
  }
  try {
    await deps.mode.change(deps, record, server, state, stage.signal);
  } finally {
    stage.cancel();
  }
}
