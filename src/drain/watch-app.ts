import type { DrainDeps } from './deps';

export type AppFate = 'gone' | 'back' | 'deadline';

export interface WatchInput {
  /** Our instance, if a drain found it. */
  readonly instanceId: string | undefined;
  /** The registration time Eureka held when the drain found the instance. */
  readonly registeredAt: number | undefined;
  /** The process got SIGTERM: a returning app is not a restart we should act on. */
  readonly terminating: () => boolean;
  /** Stop watching (with 'deadline') at this time. */
  readonly until: () => number;
  /** The app was already seen gone (the clean-up ran): listening at all means it is back. */
  readonly appWasGone?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * After a drain (or a SIGTERM with none): has the app gone, or come back?
 *
 * Gone: its port refuses connections and Eureka shows no live heartbeat (the
 * instance is absent everywhere we can reach, or its lease stopped renewing
 * for two renewal intervals); at the deadline a closed port alone is enough.
 *
 * Back (a container restart, which also runs preStop): with no SIGTERM to us,
 * either the port was seen closed and open again, or — because a restart can
 * be faster than one poll — some server holds a newer registration of our id
 * than the one the drain found, UP and without our override, while the port
 * is open: the old process cancelled (which drops the override) and a new one
 * registered. A newer registration that still carries the override proves
 * nothing: a peer re-creates an entry from its own copy when a replicated
 * heartbeat gets 404 (eureka-facts §5), and that copy carries the override.
 */
export async function watchApp(deps: DrainDeps, input: WatchInput): Promise<AppFate> {
  const { clock, config, eureka } = deps;
  const id = input.instanceId;
  let lastRenewal = 0;
  let lastRenewalChangedAt = clock.now();
  let sawClosed = input.appWasGone === true;
  for (;;) {
    if (input.signal?.aborted) return 'deadline';
    const port = await deps.probeApp();
    if (port === 'closed') sawClosed = true;
    const live =
      id === undefined
        ? []
        : await Promise.all(config.servers.map((s) => eureka.getInstance(s, config.appName, id, AbortSignal.timeout(config.eurekaTimeoutMs)).catch(() => undefined)));
    const restartable = !input.terminating();
    if (restartable && port === 'open') {
      if (sawClosed) return 'back';
      const registeredAgain = live.some(
        (x) => x != null && input.registeredAt !== undefined && x.registrationTimestamp > input.registeredAt && x.status === 'UP' && x.overriddenStatus !== 'OUT_OF_SERVICE',
      );
      if (registeredAgain) return 'back';
    }
    if (port !== 'open' && input.appWasGone !== true) {
      if (id === undefined) {
        if (port === 'closed') return 'gone';
      } else {
        const reachable = live.filter((x) => x !== undefined);
        if (reachable.length > 0 && reachable.every((x) => x === null)) return 'gone';
        const renewal = Math.max(0, ...live.map((x) => x?.lastRenewalTimestamp ?? 0));
        const interval = Math.max(1, ...live.map((x) => x?.renewalIntervalInSecs ?? 0)) * 1000;
        if (renewal !== lastRenewal) {
          lastRenewal = renewal;
          lastRenewalChangedAt = clock.now();
        } else if (clock.now() - lastRenewalChangedAt > 2 * interval) return 'gone';
        if (port === 'closed' && clock.now() + config.verifyPollMs >= input.until()) return 'gone';
      }
    }
    if (clock.now() + config.verifyPollMs >= input.until()) return 'deadline';
    await clock.sleep(config.verifyPollMs, input.signal).catch(() => undefined);
  }
}

/**
 * Watches until the app is gone or back. A watch that reaches its end starts
 * again while the pod is not terminating (a restart can come any time); while
 * terminating it ends there (the exit deadline ends the process). Stops when
 * `current` says a newer watch took over.
 */
export async function watchAppFate(deps: DrainDeps, input: WatchInput, current: () => boolean): Promise<'gone' | 'back' | undefined> {
  for (;;) {
    const fate = await watchApp(deps, input);
    if (!current()) return undefined;
    if (fate !== 'deadline') return fate;
    if (input.terminating()) return undefined;
  }
}
