import type { DrainDeps } from './deps';
import { changeOn, type DrainRecord } from './record';
import { verifyPause } from './timing';
import { untilSignal } from './until';

/**
 * During the client window and the tail: keep the instance out. Our override
 * can vanish while we wait — a config refresh in the app stops and restarts
 * its Eureka client (the cancel deletes the override, the re-registration is
 * UP: eureka-facts §13), or anyone's `DELETE …/status` — and then callers get
 * the instance again. Check the live view on every server each poll; if our
 * override is gone, put it back at once and count it. The waits read the
 * record on every poll, so a restore moves the end of the window (timing.ts:
 * the restored server counts at its worst case from the new change).
 *
 * Runs until `signal` aborts. Each restore goes into its server's cell (the
 * waits read it); returns one line a restore for the report's problems.
 */
export async function keepOut(deps: DrainDeps, record: DrainRecord, signal: AbortSignal): Promise<string[]> {
  const { config, clock, eureka, logger, metrics } = deps;
  const problems: string[] = [];
  const id = record.instanceId;
  if (id === undefined) return problems;
  // The first check comes one poll in: the servers' cached views have just shown us out, and a vanished
  // override reaches callers only at a later cache tick (one request less per server per drain; issue 10).
  await clock.sleep(verifyPause(config.verifyPollMs, config.timings.serverCacheMs), signal).catch(() => undefined);
  while (!signal.aborted) {
    await Promise.all(
      config.servers.map(async (server, i) => {
        const state = record.servers[i]!;
        if (state.changedAt === undefined) return; // never took the change: already counted at its worst case
        const round = untilSignal(clock, clock.now() + config.eurekaTimeoutMs, signal);
        try {
          const live = await eureka.getInstance(server, config.appName, id, round.signal);
          // Absent is not offered either (the app cancelled, e.g. a refresh in progress): act when it is back and UP.
          const seen = deps.mode.live(live, config.appName, id);
          if (seen === 'out' || seen === 'absent' || signal.aborted) return;
          const before = live === null ? 'absent' : `${live.status}/${live.overriddenStatus}`;
          // Not under `signal` (the waits' end must not cut a PUT the server may still apply), but never past the drain's deadline.
          const restoreBy = untilSignal(clock, record.deadlines.time((d) => d.answerBy));
          await changeOn(deps, record, i, AbortSignal.any([AbortSignal.timeout(config.eurekaTimeoutMs), restoreBy.signal])).finally(restoreBy.cancel);
          if (state.put !== 'ok') {
            // Once per server until it is back: an app that cancelled its lease mid-drain would repeat this every poll.
            if (!state.restorePending) logger.warn({ server: server.label, seen: before, reason: state.error }, `the instance is offered again or gone and the ${deps.mode.changeName} cannot be repeated yet; retrying every poll`);
            state.restorePending = true;
            return;
          }
          state.restorePending = false;
          state.restored++;
          delete state.cacheVerifiedAt;
          metrics.overrideRestored(server.label);
          const owner = deps.mode.name === 'owner';
          problems.push(`${server.label}: the instance was offered again (seen ${before}) and was taken out again; that server counts at its worst case from then`);
          logger.warn(
            { server: server.label, seen: before, restoredAt: new Date(state.changedAt).toISOString() },
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
