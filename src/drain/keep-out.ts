import type { ChangeAnswer, DrainDeps } from './deps';
import { changeOn } from './take-out';
import { verifyPause } from './timing';
import { untilSignal, type MovingTime } from './until';

/** What keep-out needs of the drain so far. */
export interface KeepOutInput {
  readonly instanceId: string;
  /** Per server (config order): it accepted the change at least once (one that never did already counts at its worst case). */
  readonly tookChange: readonly boolean[];
  /** No restore runs past this (the drain's deadline, followed as it moves). */
  readonly answerBy: MovingTime;
  /** Where a restore in flight is registered, so an abort waits for it to land. */
  readonly inFlight: Set<Promise<unknown>>;
}

/**
 * During the client window and the tail: keep the instance out. Our override
 * can vanish while we wait — a config refresh in the app stops and restarts
 * its Eureka client (the cancel deletes the override, the re-registration is
 * UP: eureka-facts §13), or anyone's `DELETE …/status` — and then callers get
 * the instance again. Check the live view on every server each poll; if our
 * override is gone, put it back at once and count it. Each restore's answer
 * goes to `restored` as it arrives (run.ts writes it into the record, which
 * the waits read on every poll, so a restore moves the end of the window;
 * timing.ts: the restored server counts at its worst case from the new change).
 *
 * Runs until `signal` aborts; returns one line a restore for the report's problems.
 */
export async function keepOut(deps: DrainDeps, input: KeepOutInput, signal: AbortSignal, restored: (index: number, answer: ChangeAnswer) => void): Promise<string[]> {
  const { config, clock, eureka, logger, metrics } = deps;
  const { instanceId: id, tookChange } = input;
  const problems: string[] = [];
  // Servers whose restore was refused: logged once until one is accepted.
  const pending = config.servers.map(() => false);
  // The first check comes one poll in: the servers' cached views have just shown us out, and a vanished
  // override reaches callers only at a later cache tick (one request less per server per drain; issue 10).
  await clock.sleep(verifyPause(config.verifyPollMs, config.timings.serverCacheMs), signal).catch(() => undefined);
  while (!signal.aborted) {
    await Promise.all(
      config.servers.map(async (server, i) => {
        if (tookChange[i] !== true) return; // never took the change: already counted at its worst case
        const round = untilSignal(clock, clock.now() + config.eurekaTimeoutMs, signal);
        try {
          const live = await eureka.getInstance(server, config.appName, id, round.signal);
          // Absent is not offered either (the app cancelled, e.g. a refresh in progress): act when it is back and UP.
          const seen = deps.mode.live(live, config.appName, id);
          if (seen === 'out' || seen === 'absent' || signal.aborted) return;
          const before = live === null ? 'absent' : `${live.status}/${live.overriddenStatus}`;
          // Not under `signal` (the waits' end must not cut a PUT the server may still apply), but never past the drain's deadline.
          const restoreBy = untilSignal(clock, input.answerBy);
          const answer = await changeOn(deps, id, i, input.inFlight, AbortSignal.any([AbortSignal.timeout(config.eurekaTimeoutMs), restoreBy.signal])).finally(restoreBy.cancel);
          restored(i, answer);
          if (answer.put !== 'ok') {
            // Once per server until it is back: an app that cancelled its lease mid-drain would repeat this every poll.
            if (!pending[i]) logger.warn({ server: server.label, seen: before, reason: answer.error }, `the instance is offered again or gone and the ${deps.mode.changeName} cannot be repeated yet; retrying every poll`);
            pending[i] = true;
            return;
          }
          pending[i] = false;
          metrics.overrideRestored(server.label);
          const owner = deps.mode.name === 'owner';
          problems.push(`${server.label}: the instance was offered again (seen ${before}) and was taken out again; that server counts at its worst case from then`);
          logger.warn(
            { server: server.label, seen: before, restoredAt: new Date(answer.at).toISOString() },
            owner
              ? 'our cancelled instance was back on this server (a peer re-created it); cancelled it again and restarted the wait for this server'
              : 'our OUT_OF_SERVICE override had vanished; put it back and restarted the wait for this server',
          );
        } catch (error) {
          if (!signal.aborted) logger.debug({ server: server.label, err: error }, 'cannot check the override');
        } finally {
          round.cancel();
        }
      }),
    );
    // Callers see a vanished override only at the server's next cache tick: checking a few times per tick is
    // soon enough, and jittered so a fleet of drainers does not poll in step (issue 10).
    await clock.sleep(verifyPause(config.verifyPollMs, config.timings.serverCacheMs), signal).catch(() => undefined);
  }
  return problems;
}
