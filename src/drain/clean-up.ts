import { describeError, EurekaRequestError } from '../errors';
import { findOwnInstance } from '../eureka/find-instance';
import type { Logger } from '../logger';
import type { DrainDeps } from './deps';
import type { DrainRecord, ServerState } from './record';
import { REPLICATION_SETTLE_MS } from './replication-settle';
import { bounded } from './until';

/** One server's answer to one clean-up pass. */
export type PassAnswer = 'deleted' | 'absent' | 'failed' | 'unreachable';

/** What the clean-up concluded for one server, over all its passes. */
export type CleanupState = 'deleted' | 'deleted_again' | 'absent' | 'failed' | 'unreachable';

/** Where our registration is, or may be, after the clean-up. */
export interface LeftBehind {
  readonly server: string;
  /** failed: a reachable server kept it (exit 1). unreachable: unknown; it goes when that server syncs from its peers or the lease expires. */
  readonly cleanup: 'failed' | 'unreachable';
  readonly error: string;
}

export interface CleanupResult {
  readonly instanceId: string | undefined;
  /** Every server where something is or may be left, with why; empty when nothing is. */
  readonly left: readonly LeftBehind[];
  /** A reachable server kept a registration we could not delete: a caller or the next pod can trip over it. */
  readonly leftSomething: boolean;
  /** A pass one full replication settle after the one before found nothing to delete. False: the deadline or the app's return ended the checks first. */
  readonly settled: boolean;
  readonly passes: number;
}

/**
 * Pure: a server's state after one more answer. An answer that says nothing
 * (unreachable) keeps what an earlier one said; deleted after the server had
 * been found clean means the registration came back (a peer's late
 * replicated heartbeat re-created it, eureka-facts §5) and went again.
 */
const NEXT: Readonly<Record<CleanupState | 'none', Readonly<Record<PassAnswer, CleanupState>>>> = {
  none: { deleted: 'deleted', absent: 'absent', failed: 'failed', unreachable: 'unreachable' },
  deleted: { deleted: 'deleted_again', absent: 'deleted', failed: 'failed', unreachable: 'deleted' },
  deleted_again: { deleted: 'deleted_again', absent: 'deleted_again', failed: 'failed', unreachable: 'deleted_again' },
  absent: { deleted: 'deleted_again', absent: 'absent', failed: 'failed', unreachable: 'absent' },
  failed: { deleted: 'deleted', absent: 'absent', failed: 'failed', unreachable: 'failed' },
  unreachable: { deleted: 'deleted', absent: 'absent', failed: 'failed', unreachable: 'unreachable' },
};

export function nextCleanupState(state: CleanupState | undefined, answer: PassAnswer): CleanupState {
  return NEXT[state ?? 'none'][answer];
}

/**
 * Step 7, once the app is gone: DELETE whatever registration is left on every
 * server, so no OUT_OF_SERVICE override outlives the pod. Never while the app
 * still heartbeats (watch-app.ts decides that): it would only re-register.
 *
 * One pass is not enough. A heartbeat the app sent just before it stopped may
 * still be in a server's replication batch; when it reaches a peer that has
 * already lost the instance, the peer answers 404 and the sender registers the
 * instance there again from its own copy (DOWN, with our override), a few
 * milliseconds after we found it gone (eureka-facts §5; 1 drain in 31 on a real
 * cluster). So after each pass the clean-up waits for replication to settle
 * and passes again, deleting what came back, until a pass deletes nothing. The
 * waits end by `until` (the exit deadline): a check that no longer fits is not
 * made, and the result says replication had not settled.
 *
 * A server we cannot reach is logged and counted, not an error: when it comes
 * back it takes the registry from its peers (where the entry is gone) or lets
 * the lease expire, and the next pod's start-up clears a stale override.
 */
export async function cleanUp(
  deps: DrainDeps,
  servers: ServerState[],
  knownId: string | undefined,
  until: number,
  settleMs: number = REPLICATION_SETTLE_MS,
): Promise<CleanupResult> {
  const { config, clock, logger, metrics } = deps;
  const states: (CleanupState | undefined)[] = servers.map(() => undefined);
  const errors: (string | undefined)[] = servers.map(() => undefined);
  let instanceId = knownId;
  let passes = 0;
  let settled = false;
  // The first pass gets a second even at the deadline: deleting the leftover matters more than a punctual exit.
  let passEnd = Math.max(until, clock.now() + 1_000);
  let waitedFullSettle = false;
  for (;;) {
    const pass = await bounded(clock, passEnd, undefined, (signal) => sweep(deps, instanceId, signal));
    passes++;
    instanceId ??= pass.instanceId;
    pass.answers.forEach(({ answer, error }, i) => {
      const before = states[i];
      const after = nextCleanupState(before, answer);
      states[i] = after;
      servers[i]!.cleanup = after;
      if (error !== undefined) errors[i] = error;
      if (after === before) return;
      const server = servers[i]!.server;
      if (after === 'deleted_again') logger.warn({ server, instanceId }, 'our registration came back on this server after the clean-up found it gone (a peer’s late replicated heartbeat re-created it); deleted it again');
      else if (after === 'failed') logger.error({ server, reason: error }, 'cannot delete the leftover registration');
      else if (after === 'unreachable') logger.warn({ server, reason: error }, 'eureka server unreachable at clean-up: its entry goes when it syncs from its peers or the lease expires');
    });
    if (passes > 1 && !pass.answers.some((a) => a.answer === 'deleted')) {
      settled = waitedFullSettle;
      break;
    }
    // Check again once a heartbeat sent before this pass has surely replicated, or as late as the
    // deadline still lets a check answer; a check that no longer fits is not made.
    const settledAt = clock.now() + settleMs;
    const checkAt = Math.min(settledAt, until - config.eurekaTimeoutMs);
    if (checkAt <= clock.now()) {
      logger.warn(
        { instanceId, exitDeadline: new Date(until).toISOString() },
        'no time left before the exit deadline to check again after replication settles: a peer’s late replicated heartbeat may still re-create the instance (with our override, so not offered) until its lease expires',
      );
      break;
    }
    await clock.sleep(checkAt - clock.now());
    if ((await deps.probeApp()) === 'open') {
      logger.info({ instanceId }, 'the app listens again: leaving its registration alone');
      break;
    }
    waitedFullSettle = checkAt === settledAt;
    passEnd = until;
  }
  const left: LeftBehind[] = [];
  states.forEach((state, i) => {
    metrics.cleanupDelete(state ?? 'pending');
    if (state === 'failed' || state === 'unreachable') left.push({ server: servers[i]!.server, cleanup: state, error: errors[i] ?? 'no answer' });
  });
  return { instanceId, left, leftSomething: left.some((l) => l.cleanup === 'failed'), settled, passes };
}

/** One DELETE on every server (the id looked up first if no drain found it); what each answered. */
async function sweep(deps: DrainDeps, knownId: string | undefined, signal: AbortSignal): Promise<{ instanceId: string | undefined; answers: { answer: PassAnswer; error?: string }[] }> {
  const { config, eureka, logger } = deps;
  // Servers that could not even be asked what they hold are unreachable, not "absent".
  const unasked = new Map<string, string>();
  const instanceId =
    knownId ?? (await findOwnInstance(config, eureka, logger, signal, (server, error) => unasked.set(server.label, describeError(error))).catch(() => undefined));
  const answers = await Promise.all(
    config.servers.map(async (server): Promise<{ answer: PassAnswer; error?: string }> => {
      if (instanceId === undefined) {
        const error = unasked.get(server.label);
        return error === undefined ? { answer: 'absent' } : { answer: 'unreachable', error };
      }
      try {
        return { answer: (await eureka.cancel(server, config.appName, instanceId, signal)) === 'ok' ? 'deleted' : 'absent' };
      } catch (error) {
        const unreachable = error instanceof EurekaRequestError && error.status === undefined;
        return { answer: unreachable ? 'unreachable' : 'failed', error: describeError(error) };
      }
    }),
  );
  return { instanceId, answers };
}

/**
 * The clean-up after a drain (its record), or after a termination with none
 * (every server, the instance found by the sweep). A failed clean-up counts as
 * something left. Returns the fields of the `done` phase line: what is left
 * and where, and whether a late replication was waited out.
 */
export async function cleanUpAfter(deps: DrainDeps, record: DrainRecord | undefined, until: number, log: Logger): Promise<{ leftSomething: boolean; fields: Record<string, unknown> }> {
  const servers: ServerState[] = record?.servers ?? deps.config.servers.map((s) => ({ server: s.label, put: 'pending', restored: 0 }));
  const result = await cleanUp(deps, servers, record?.instanceId, until).catch((error: unknown) => {
    log.error({ err: error }, 'clean-up failed');
    return undefined;
  });
  const leftSomething = result?.leftSomething ?? true;
  return {
    leftSomething,
    fields: { instanceId: result?.instanceId, leftSomething, left: result?.left ?? [], replicationSettled: result?.settled ?? false, servers: servers.map((s) => ({ server: s.server, cleanup: s.cleanup })) },
  };
}
