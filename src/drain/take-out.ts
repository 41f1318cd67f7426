import { describeError } from '../errors';
import type { ChangeAnswer, DrainDeps } from './deps';
import { PRIME_TOLERANCE_MS } from './timing';
import { untilSignal, type Until } from './until';

/** What priming one server's callers' view found: when it was read and whether it already showed us out, or why it could not be read. */
export type Prime = { readonly primedAt: number; readonly primedStale: boolean } | { readonly error: string };

/** The primes of one drain: the gate every change waits on, and each server's prime as it arrives. */
export interface Priming {
  /** Opens once every prime was answered, or PRIME_TOLERANCE_MS passed, whichever comes first. */
  readonly gate: Promise<void>;
  /** One entry a server, in config order; undefined where the server needed no prime. */
  readonly primes: readonly (Promise<Prime> | undefined)[];
}

/**
 * Step 2a, every server at once: prime the callers' view (which only makes a
 * later proof trustworthy, see verify.ts) where `primed` says locate.ts did
 * not already read it offering us. The gate is shared because a prime must
 * land before the change can reach its server from any server (timing.ts
 * primedInTime): a server primed by locate must not send its change ahead of
 * the others' primes. Nothing to prime, no wait.
 */
export function primeViews(deps: DrainDeps, instanceId: string, primed: readonly boolean[], until: Until): Priming {
  const { config, clock, eureka } = deps;
  const primes = config.servers.map((server, index): Promise<Prime> | undefined => {
    if (primed[index] === true) return undefined;
    const stage = untilSignal(clock, until);
    return eureka
      .getApplication(server, config.appName, stage.signal)
      .then(
        (instances): Prime => ({ primedAt: clock.now(), primedStale: deps.mode.cached(instances, config.appName, instanceId) === 'out' }),
        (error: unknown): Prime => ({ error: `cannot read the callers' view: ${describeError(error)}` }),
      )
      .finally(stage.cancel);
  });
  const pending = primes.filter((prime) => prime !== undefined);
  if (pending.length === 0) return { gate: Promise.resolve(), primes };
  const headStart = new AbortController();
  const gate = Promise.race([Promise.all(pending).then(() => undefined), clock.sleep(PRIME_TOLERANCE_MS, headStart.signal).catch(() => undefined)]).then(() => headStart.abort());
  return { gate, primes };
}

/**
 * Step 2b, one server: take the instance out of it (the mode's change: the
 * OUT_OF_SERVICE override in companion mode, a cancel in owner mode), once
 * the primes' gate opened; returns the server's answer. Taking out never
 * waits on evidence longer than that. The change runs under `until` only
 * (followed if the deadline moves earlier), never under the abort signal: an
 * abort waits for it to land instead of leaving a request the server may
 * still apply.
 */
export async function takeOut(deps: DrainDeps, instanceId: string, index: number, until: Until, gate: Promise<void>, inFlight: Set<Promise<unknown>>): Promise<ChangeAnswer> {
  await gate;
  const stage = untilSignal(deps.clock, until);
  try {
    return await changeOn(deps, instanceId, index, inFlight, stage.signal);
  } finally {
    stage.cancel();
  }
}

/**
 * The mode's change on one server (take-out, a verify retry, a keep-out
 * restore), registered in `inFlight` until it lands so an abort can wait for
 * it; returns the server's answer (record.ts recordChange writes it).
 */
export function changeOn(deps: DrainDeps, instanceId: string, index: number, inFlight: Set<Promise<unknown>>, signal: AbortSignal): Promise<ChangeAnswer> {
  const change = deps.mode.change(deps, instanceId, deps.config.servers[index]!, signal);
  inFlight.add(change);
  const landed = (): boolean => inFlight.delete(change);
  void change.then(landed, landed);
  return change;
}
