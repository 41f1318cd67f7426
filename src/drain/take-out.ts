import type { EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { DrainDeps } from './deps';
import { deltaEvidence } from './evidence';
import { track, type DrainRecord, type ServerState } from './record';
import { PRIME_TOLERANCE_MS } from './timing';
import { untilSignal } from './until';

/**
 * Step 2, one server: put the OUT_OF_SERVICE override on it. Taking out never
 * waits on evidence: the prime read of the callers' view (which only makes a
 * later proof trustworthy, see verify.ts) gets at most PRIME_TOLERANCE_MS of
 * a head start, then the PUT goes out whether the read answered or not.
 * The PUT runs under `until` only, never under the abort signal: an abort
 * waits for it to land instead of leaving a request the server may still apply.
 */
export async function takeOut(deps: DrainDeps, record: DrainRecord, index: number, until: number): Promise<void> {
  const { config, clock, eureka } = deps;
  const server = config.servers[index]!;
  const state = record.servers[index]!;
  const id = record.instanceId!;
  const stage = untilSignal(clock, until);
  const prime = eureka.getDelta(server, stage.signal).then(
    (delta) => {
      state.primedAt = clock.now();
      state.primedStale = deltaEvidence(delta.instances, config.appName, id) === 'out';
    },
    (error: unknown) => {
      state.error = `cannot read the callers' view: ${describeError(error)}`;
    },
  );
  const headStart = new AbortController();
  await Promise.race([prime, clock.sleep(PRIME_TOLERANCE_MS, headStart.signal).catch(() => undefined)]);
  headStart.abort();
  try {
    await putOverride(deps, record, server, state, stage.signal);
  } finally {
    stage.cancel();
  }
}

/** One PUT of the override; records when the server accepted it (the change reached it then). */
export async function putOverride(deps: DrainDeps, record: DrainRecord, server: EurekaServerConfig, state: ServerState, signal: AbortSignal): Promise<void> {
  const { eureka, clock, config, logger } = deps;
  try {
    const outcome = await track(record, eureka.setStatusOverride(server, config.appName, record.instanceId!, 'OUT_OF_SERVICE', clock.now(), signal));
    state.put = outcome;
    if (outcome === 'ok') {
      const now = clock.now();
      state.putAt ??= now;
      state.changedAt = now;
      delete state.error;
    } else state.error = 'instance not registered on this server (yet)';
  } catch (error) {
    state.put = 'failed';
    state.error = describeError(error);
    logger.warn({ server: server.label, err: state.error }, 'out-of-service request failed');
  }
}
