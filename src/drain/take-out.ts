import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { changeOn, type DrainRecord } from './record';
import { PRIME_TOLERANCE_MS } from './timing';
import { untilSignal, type Until } from './until';

/**
 * Step 2a, every server at once: prime the callers' view (which only makes a
 * later proof trustworthy, see verify.ts) where locate.ts did not already read
 * it offering us. Returns the gate every change waits on: all those primes
 * answered, or PRIME_TOLERANCE_MS passed, whichever comes first. The gate is
 * shared because a prime must land before the change can reach its server
 * from any server (timing.ts primedInTime): a server primed by locate must
 * not send its change ahead of the others' primes. Nothing to prime, no wait.
 */
export function primeViews(deps: DrainDeps, record: DrainRecord, until: Until): Promise<void> {
  const { config, clock, eureka } = deps;
  const id = record.instanceId!;
  const primes = config.servers.flatMap((server, index) => {
    const state = record.servers[index]!;
    if (state.primedAt !== undefined) return [];
    const stage = untilSignal(clock, until);
    return [
      eureka
        .getApplication(server, config.appName, stage.signal)
        .then(
          (instances) => {
            state.primedAt = clock.now();
            state.primedStale = deps.mode.cached(instances, config.appName, id) === 'out';
          },
          (error: unknown) => {
            state.error = `cannot read the callers' view: ${describeError(error)}`;
          },
        )
        .finally(stage.cancel),
    ];
  });
  if (primes.length === 0) return Promise.resolve();
  const headStart = new AbortController();
  return Promise.race([Promise.all(primes).then(() => undefined), clock.sleep(PRIME_TOLERANCE_MS, headStart.signal).catch(() => undefined)]).then(() => headStart.abort());
}

/**
 * Step 2b, one server: take the instance out of it (the mode's change: the
 * OUT_OF_SERVICE override in companion mode, a cancel in owner mode), once
 * the primes' gate opened. Taking out never waits on evidence longer than that.
 * The change runs under `until` only (followed if the deadline moves
 * earlier), never under the abort signal: an abort waits for it to land
 * instead of leaving a request the server may still apply.
 */
export async function takeOut(deps: DrainDeps, record: DrainRecord, index: number, until: Until, primed: Promise<void>): Promise<void> {
  await primed;
  const stage = untilSignal(deps.clock, until);
  try {
    await changeOn(deps, record, index, stage.signal);
  } finally {
    stage.cancel();
  }
}
