import type { ChangeAnswer, DrainDeps } from './deps';
import { untilSignal, type Until } from './until';

/**
 * Step 2, one server: take the instance out of it (the mode's change: the
 * OUT_OF_SERVICE override in companion mode, a cancel in owner mode); returns
 * the server's answer. It is the first request a drain sends once it knows
 * the instance (issue 23: on a busy node the CPU spent before it decides how
 * fast the instance goes out), and nothing is read before it: the proof reads
 * the callers' own key after the change (verify.ts says why that needs no
 * read before). The change runs under `until` only (followed if the deadline
 * moves earlier), never under the abort signal: an abort waits for it to land
 * instead of leaving a request the server may still apply.
 */
export async function takeOut(deps: DrainDeps, instanceId: string, index: number, until: Until, inFlight: Set<Promise<unknown>>): Promise<ChangeAnswer> {
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
